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
# DescribeOrganizationalUnit, ListAccounts, ListAccountsForParent, ListOrganizationalUnitsForParent,
# DescribeAccount: "This operation can be called only from the organization's management
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


# Organizations API reference, ListAccounts: MaxResults is 1-20, as for every other listing of
# accounts and units. moto pages ListAccounts by 100, so a listing of a large organization would take
# a fifth of the requests it takes in AWS: 20 here too.
from moto.organizations import utils as organizations_utils

organizations_utils.PAGINATION_MODEL["list_accounts"]["limit_default"] = 20

for _operation in (
    "list_delegated_administrators",
    "list_aws_service_access_for_organization",
    "describe_organizational_unit",
    "list_accounts",
    "list_accounts_for_parent",
    "list_organizational_units_for_parent",
    "describe_account",
):
    _from_management(_operation)


# CloudFormation StackSets with service-managed permissions (CloudFormation API reference,
# CreateStackInstances, DeleteStackInstances, DescribeStackSet; user guide, "Create a stack set with
# service-managed permissions"). moto 5.2 differs, and each difference is corrected here:
from moto.cloudformation import models as cloudformation
from moto.cloudformation import responses as cloudformation_responses


def _accounts_below(org, units):
    """Every account below `units` at any depth, never the management account: "StackSets doesn't
    deploy stack instances to the organization's management account, even if the management account
    is in your organization or in an OU in your organization" (user guide). moto follows one level
    of nesting and includes the management account."""
    units = set(units)
    grew = True
    while grew:
        children = {ou.id for ou in org.ou if getattr(ou, "parent_id", None) in units}
        grew = not children <= units
        units |= children
    management = org.org.master_account_id if org.org else None
    return [a.id for a in org.accounts if a.parent_id in units and a.id != management]


def _targeted(org, deployment_targets):
    """The accounts DeploymentTargets name: every account below OrganizationalUnitIds, filtered by
    Accounts as AccountFilterType says (API reference, DeploymentTargets: INTERSECTION, DIFFERENCE,
    UNION, NONE). moto ignores AccountFilterType."""
    units = deployment_targets.get("OrganizationalUnitIds", [])
    below = _accounts_below(org, units) if units else []
    named = deployment_targets.get("Accounts", [])
    kind = deployment_targets.get("AccountFilterType", "NONE")
    if kind == "INTERSECTION":
        return [a for a in below if a in named]
    if kind == "DIFFERENCE":
        return [a for a in below if a not in named]
    if kind == "UNION":
        return below + [a for a in named if a not in below]
    return below


def _create_instances(self, accounts, regions, parameters, deployment_targets, permission_model):
    """CreateStackInstances: one instance per account and region; an instance that exists is not
    created twice (moto adds a duplicate); the stack set's current template (moto keeps the first)."""
    targets = list(accounts) + _targeted(self.org_backend, deployment_targets)
    new_instances = []
    for region in regions:
        for account in dict.fromkeys(targets):
            if self.get_instance(account, region) is not None:
                continue
            instance = cloudformation.StackInstance(
                account_id=account,
                region_name=region,
                stackset_id=self.stackset_id,
                stack_name=self.stack_name,
                name=self.stackset_name,
                template=self.template,
                parameters=parameters,
                permission_model=permission_model,
            )
            new_instances.append(instance)
    self.stack_instances += new_instances
    return [i.to_dict() for i in new_instances]


cloudformation.StackInstances.create_instances = _create_instances

_create_stack_instances = cloudformation.StackSet.create_stack_instances


def _create_stack_instances_recording_units(self, accounts, regions, deployment_targets, parameters):
    """DescribeStackSet reports the OUs a service-managed stack set deploys to (OrganizationalUnitIds)."""
    operation = _create_stack_instances(self, accounts, regions, deployment_targets, parameters)
    units = (deployment_targets or {}).get("OrganizationalUnitIds", [])
    known = getattr(self, "organizational_unit_ids", [])
    self.organizational_unit_ids = known + [u for u in units if u not in known]
    return operation


cloudformation.StackSet.create_stack_instances = _create_stack_instances_recording_units

_update_stack_set = cloudformation.StackSet.update


def _update_keeping_the_template_for_new_instances(self, *args, **kwargs):
    """UpdateStackSet: instances created afterwards get the new template (moto keeps the first)."""
    operation = _update_stack_set(self, *args, **kwargs)
    self.instances.template = self.template
    return operation


cloudformation.StackSet.update = _update_keeping_the_template_for_new_instances


def _delete_stack_instances(self):
    """DeleteStackInstances with DeploymentTargets: the instances of every account below the units
    in the regions given (moto ignores DeploymentTargets and deletes nothing)."""
    name = self._get_param("StackSetName")
    regions = self._get_param("Regions", [])
    accounts = self._get_param("Accounts", [])
    deployment_targets = self._get_params().get("DeploymentTargets") or {}
    units = deployment_targets.get("OrganizationalUnitIds", [])
    stackset = self.cloudformation_backend.describe_stack_set(name)
    if units:
        accounts = list(accounts) + _targeted(stackset.instances.org_backend, deployment_targets)
        if deployment_targets.get("AccountFilterType", "NONE") == "NONE":
            # The units themselves are no longer targets (DescribeStackSet stops reporting them).
            remaining = [u for u in getattr(stackset, "organizational_unit_ids", []) if u not in units]
            stackset.organizational_unit_ids = remaining
    self.cloudformation_backend.delete_stack_instances(name, accounts, regions)
    return cloudformation_responses.ActionResult({"OperationId": stackset.operations[-1]["OperationId"]})


cloudformation_responses.CloudFormationResponse.delete_stack_instances = _delete_stack_instances


def _list_stack_instances_response(self):
    """ListStackInstances: StackInstanceRegion and StackInstanceAccount narrow the list, and the
    list comes in pages of at most MaxResults (1-100) with a NextToken for the rest (API reference,
    ListStackInstances); moto ignores all three and answers every instance at once, which would hide
    how many requests in a row a large organization's listing takes. Without MaxResults a page is
    100 here (AWS leaves the size to the service)."""
    name = self._get_param("StackSetName")
    region = self._get_param("StackInstanceRegion")
    account = self._get_param("StackInstanceAccount")
    instances = [
        i
        for i in self.cloudformation_backend.list_stack_instances(name)
        if (region is None or i["Region"] == region) and (account is None or i["Account"] == account)
    ]
    size = max(1, min(100, int(self._get_param("MaxResults") or 100)))
    start = int(self._get_param("NextToken") or 0)
    result = {"Summaries": instances[start : start + size]}
    if start + size < len(instances):
        result["NextToken"] = str(start + size)
    return cloudformation_responses.ActionResult(result)


cloudformation_responses.CloudFormationResponse.list_stack_instances = _list_stack_instances_response


# CloudTrail User Guide, "Creating a trail for an organization": "Member accounts can see the
# organization trail, but can't modify or delete it"; the API reference's DescribeTrails and
# GetTrailStatus answer for it in a member account (it keeps the management account's ARN), while
# UpdateTrail, StartLogging and DeleteTrail are the owner's. moto shows each account its own trails
# only: a member account here also sees the management account's organization trails (multi-region,
# or homed in the region asked), and reads their status; changing them still finds no such trail.
from moto.cloudtrail import models as cloudtrail

_describe_trails = cloudtrail.CloudTrailBackend.describe_trails


def _describe_trails_with_the_organizations(self, include_shadow_trails):
    trails = list(_describe_trails(self, include_shadow_trails))
    owner = organizations.organizations_backends.master_accounts.get(self.account_id)
    if owner is None or owner[0] == self.account_id:
        return trails
    for backend in cloudtrail.cloudtrail_backends[owner[0]].values():
        for trail in backend.trails.values():
            here = trail.region_name == self.region_name
            if trail.is_org_trail and (here or (include_shadow_trails and trail.is_multi_region)):
                trails.append(trail)
    return trails


cloudtrail.CloudTrailBackend.describe_trails = _describe_trails_with_the_organizations


# CloudFormation User Guide, "Register a delegated administrator": a delegated administrator for
# StackSets creates service-managed stack sets in its own account (calling with CallAs =
# DELEGATED_ADMIN) that deploy to the organization's accounts. moto resolves a stack set's target
# units in its own account's organization state, which a member's is empty of: a delegated
# administrator's stack sets resolve them in the organization's (the management account's) state.
_org_backend = cloudformation.StackInstances.org_backend


def _organization_of_the_stack_set(self):
    own = _org_backend.fget(self)
    management = _management_backend(own)
    if management is not None and _is_delegated_admin(management, own.account_id):
        return management
    return own


cloudformation.StackInstances.org_backend = property(_organization_of_the_stack_set)


# The request recorder (the tests' write counts read it) appends each request as one JSON line from
# whichever server thread served it, through Python's buffered file: a request carrying the 3.5 MB
# handler zip is written in many chunks, and another thread's line can land between two of them,
# leaving both unreadable (a write lost from the count). One lock makes each line whole; reading the
# recording takes it too, so no half-written line is read.
import threading

from moto.moto_api._internal.recorder import models as recorder_models

_recording = threading.Lock()


def _serialized(method):
    def locked(self, *args, **kwargs):
        with _recording:
            return method(self, *args, **kwargs)

    return locked


# Not a correction but the test bed's speed: every test reads back only its own account's requests, yet
# the recording of a whole run grows to gigabytes (each CreateFunction carries the handler zip). Each
# recorded line is indexed by the access key that signed it, and `download-recording?access_key=AKID`
# returns only that key's lines, in order, so a read costs what the test's own requests weigh, not
# what every earlier test recorded. Without the parameter the download is moto's, whole.
import os
import re
from urllib.parse import parse_qs, urlparse

from moto.moto_api._internal.recorder import responses as recorder_responses

_lines_by_key = {}
_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


def _record_request_indexed(original):
    def record(self, request, body=None):
        path = self._location
        start = os.path.getsize(path) if os.path.exists(path) else 0
        original(self, request, body)
        end = os.path.getsize(path) if os.path.exists(path) else 0
        signed = _ACCESS_KEY.search(request.headers.get("Authorization", "") or "")
        if signed and end > start:
            _lines_by_key.setdefault(signed.group(1), []).append((start, end - start))

    return record


def _reset_clearing_the_index(original):
    def reset(self):
        original(self)
        _lines_by_key.clear()

    return reset


def _download_for_key(self, access_key):
    with open(self._location, "rb") as file:
        parts = []
        for start, length in _lines_by_key.get(access_key, []):
            file.seek(start)
            parts.append(file.read(length))
    return b"".join(parts).decode("utf-8")


recorder_models.Recorder._record_request = _record_request_indexed(recorder_models.Recorder._record_request)
recorder_models.Recorder.reset_recording = _reset_clearing_the_index(recorder_models.Recorder.reset_recording)
recorder_models.Recorder.download_for_key = _download_for_key

for _method in ("_record_request", "download_recording", "reset_recording", "download_for_key"):
    setattr(recorder_models.Recorder, _method, _serialized(getattr(recorder_models.Recorder, _method)))

_download_recording_response = recorder_responses.RecorderResponse.download_recording


def _download_recording_of_one_key(self, req, url, headers):
    wanted = parse_qs(urlparse(url).query).get("access_key")
    if not wanted:
        return _download_recording_response(self, req, url, headers)
    return 200, {}, recorder_responses.recorder.download_for_key(wanted[0])


recorder_responses.RecorderResponse.download_recording = _download_recording_of_one_key


# Also the test bed's speed: moto builds a service's backends for an account the first time that account
# calls it, and lists the service's regions anew for each (botocore reloads its endpoint data each time).
# Every test works in fresh accounts; in a profile of two lifecycle tests that listing took 13% of moto's
# CPU. The regions of a service are the same for every account: listed once per service here.
from functools import cache

from moto.core import base_backend


@cache
def _regions_of(service_name):
    return list(_generate_regions(None, service_name))


_generate_regions = base_backend.AccountSpecificBackend._generate_regions.__wrapped__
base_backend.AccountSpecificBackend._generate_regions = lambda self, service_name: list(_regions_of(service_name))


# And: werkzeug logs a line per request, which nobody reads (scripts/test.sh shows moto's log only when
# moto fails to start) and which costs the server a formatted write under a lock for every request.
import logging

logging.getLogger("werkzeug").setLevel(logging.WARNING)


if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
