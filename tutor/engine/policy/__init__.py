"""IAM policy evaluation: who may do what on which resource, under which condition.

One evaluator for every policy a lab checks (queue policies, topic policies, role
policies, trust policies). It reads the whole document with IAM semantics:

- every statement; an explicit Deny wins over any Allow; no matching Allow is a deny;
- `Action`/`NotAction` with `*` and `?` wildcards, service prefix and action name
  case-insensitive (`SQS:sendmessage` is `sqs:SendMessage`);
- `Resource`/`NotResource` with wildcards (case-sensitive, as ARNs are); a resource
  policy without `Resource` applies to the resource it is attached to;
- `Principal`/`NotPrincipal` in all its forms: `"*"`, `{"AWS": "*"}`, an account id, an
  account root ARN, a role or user ARN, `{"Service": ...}`, `{"Federated": ...}`;
- `Condition` with the String, Arn, Numeric, Date, Bool, IpAddress and Null operators,
  their `IfExists` forms and the `ForAnyValue:`/`ForAllValues:` qualifiers; condition key
  names are case-insensitive (`AWS:SourceArn` is `aws:SourceArn`), a missing key fails a
  positive operator and satisfies a negated one (`StringNotEquals`...).

Checks ask questions with `audit(policies, must_allow=[...], must_deny=[...])`: "is access
exactly what the step asked for, and no wider?". The answer names the statement that
grants too much, in words a learner reads (`statement 2 (Sid "Open") allows any principal
to sqs:SendMessage with no condition`).

Layout: `matching` (PolicyError, wildcards), `principals` (Principal, Request, principal
blocks), `conditions` (condition operators), `document` (Statement, Policy, evaluate),
`audits` (audit, AccessReport), `probes` (source_probes).
"""

from tutor.engine.policy.audits import AccessReport, audit
from tutor.engine.policy.conditions import Condition
from tutor.engine.policy.document import Decision, Policy, Statement, evaluate
from tutor.engine.policy.matching import PolicyError, action_matches, arn_like, like
from tutor.engine.policy.principals import ContextValue, Principal, PrincipalSpec, Request
from tutor.engine.policy.probes import OTHER_ACCOUNT, SQS_OTHER_ACTIONS, source_probes

__all__ = [
    "OTHER_ACCOUNT",
    "SQS_OTHER_ACTIONS",
    "AccessReport",
    "Condition",
    "ContextValue",
    "Decision",
    "Policy",
    "PolicyError",
    "Principal",
    "PrincipalSpec",
    "Request",
    "Statement",
    "action_matches",
    "arn_like",
    "audit",
    "evaluate",
    "like",
    "source_probes",
]
