"""How cdk-nag names a resource inside a policy, for the acknowledgments of its granular findings.

cdk-nag's IAM5 findings name a wildcard resource as it appears in the resolved policy:
``<LogicalId.Arn>/prefix/*`` when the resource is in the policy's own stack, and the JSON of the
cross-stack reference when it is in another stack. The app reads the data stack through CDK's weak
references: a ``Fn::GetStackOutput`` of an output that CDK adds to the producing stack under the
construct ``Publish`` with the id ``Output<JSON of the reference>``, whose logical id is CDK's
``makeUniqueId`` of that path (human part + 8 hex digits of its MD5). :func:`arn` rebuilds both, so
an acknowledgment names exactly the finding. Should CDK ever name these outputs differently, the
synth fails on the then unacknowledged finding, which prints the name to use.
"""

from __future__ import annotations

import hashlib
import json
import re

from aws_cdk import CfnResource, Fn, Stack
from constructs import Construct, IConstruct

_HUMAN_LIMIT = 240


def _unique_id(components: list[str]) -> str:
    """CDK's ``makeUniqueId`` (core/lib/private/uniqueid) for components without "Default"/"Resource"."""
    digest = hashlib.md5("/".join(components).encode()).hexdigest()[:8].upper()
    return "".join(re.sub(r"[^A-Za-z0-9]", "", c) for c in components)[:_HUMAN_LIMIT] + digest


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def element_of(resource: IConstruct) -> CfnResource:
    """The CloudFormation resource of an L2 construct (its ``default_child``)."""
    child = resource.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    return child


def weak_output_name(resource: IConstruct, attribute: str = "Arn") -> str:
    """The logical id of the output CDK adds to ``resource``'s stack for a weak reference to its
    ``Fn::GetAtt`` ``attribute``."""
    producer = Stack.of(resource)
    lid = producer.resolve(producer.get_logical_id(element_of(resource)))
    return _unique_id(["Publish", "Output" + _compact({"Fn::GetAtt": [lid, attribute]})])


def arn(scope: Construct, resource: IConstruct, attribute: str = "Arn") -> str:
    """How cdk-nag writes ``resource``'s ARN (its ``Fn::GetAtt`` Arn; or another ``attribute``, e.g. a
    state machine's Name) in a policy of ``scope``'s stack."""
    consumer, producer = Stack.of(scope), Stack.of(resource)
    if consumer is producer:
        return f"<{producer.resolve(producer.get_logical_id(element_of(resource)))}.{attribute}>"
    reference = Fn.get_stack_output(producer.stack_name, weak_output_name(resource, attribute), producer.region)
    return _compact(consumer.resolve(reference))
