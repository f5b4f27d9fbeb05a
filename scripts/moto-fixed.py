"""The test bed's moto server, with the operations login-alert relies on corrected where moto 5.2
diverges from the AWS API reference. Run as `python3 scripts/moto-fixed.py -H HOST -p PORT` (the same
arguments as `python3 -m moto.server`); scripts/test.sh and the tests' own launcher both start it.

Each fix cites the reference it follows. Tests that depend on one say so in their module doc.
"""

import sys

from moto.organizations import models as organizations
from moto.organizations.exceptions import OrganizationsClientError

# CloudFormation StackSets supports a delegated administrator registered for this principal
# (AWS CloudFormation User Guide, "Register a delegated administrator": `aws organizations
# register-delegated-administrator --service-principal=member.org.stacksets.cloudformation.amazonaws.com`;
# Organizations User Guide, "AWS services that you can use with AWS Organizations"). moto's list of
# services that take a delegated administrator lacks it, so it answers InvalidInputException.
STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"
if STACKSETS not in organizations.FakeDelegatedAdministrator.SUPPORTED_SERVICES:
    organizations.FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(STACKSETS)


class AccessDeniedException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        )


def _management_backend(backend):
    """The management account's backend for a member account's request, else None."""
    if backend.org is not None:
        return None
    owner = organizations.organizations_backends.master_accounts.get(backend.account_id)
    if owner is None:
        return None
    account_id, partition = owner
    return organizations.organizations_backends[account_id][partition]


def _is_delegated_admin(management, account_id):
    return any(admin.account.id == account_id for admin in management.admins)


# Organizations API reference, ListDelegatedAdministrators, ListAWSServiceAccessForOrganization,
# DescribeOrganizationalUnit: "This operation can be called only from the organization's management
# account or by a member account that is a delegated administrator." moto answers a member from the
# member's own (empty) organization state instead: a delegated administrator gets the organization's
# answer here, any other member AccessDeniedException.
def _from_management(name):
    original = getattr(organizations.OrganizationsBackend, name)

    def fixed(self, *args, **kwargs):
        management = _management_backend(self)
        if management is None:
            return original(self, *args, **kwargs)
        if not _is_delegated_admin(management, self.account_id):
            raise AccessDeniedException()
        return getattr(management, name)(*args, **kwargs)

    setattr(organizations.OrganizationsBackend, name, fixed)


for _operation in (
    "list_delegated_administrators",
    "list_aws_service_access_for_organization",
    "describe_organizational_unit",
):
    _from_management(_operation)


if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
