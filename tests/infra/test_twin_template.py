"""The local twin reads every stack of the app: merge_stacks resolves the cross-stack references
into one template (the same resources, nothing added), which the twin provisions and runs."""

from __future__ import annotations

import json

import pytest

from infra.local.template import CROSS_STACK_INTRINSICS, dependency_order, load_app_template, merge_stacks

DATA = {
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:x"}},
    },
    "Outputs": {
        "PublishOutputTableArn": {"Value": {"Fn::GetAtt": ["Table", "Arn"]}},
        "Exported": {"Value": {"Ref": "Table"}, "Export": {"Name": "Data:TableName"}},
    },
}
APP = {
    "Resources": {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Environment": {
                    "Variables": {
                        "TABLE": {"Fn::ImportValue": "Data:TableName"},
                        "ARN": {
                            "Fn::GetStackOutput": {
                                "StackName": "Data",
                                "Region": {"Ref": "AWS::Region"},
                                "OutputName": "PublishOutputTableArn",
                            }
                        },
                    }
                }
            },
        },
        "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:y"}},
    },
}


def test_merge_resolves_weak_and_strong_references_to_the_producers_values():
    merged = merge_stacks([("Data", DATA), ("App", APP)])
    assert set(merged["Resources"]) == {"Table", "Fn"}  # CDK's per-stack metadata resource is not ours
    env = merged["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]
    assert env == {"TABLE": {"Ref": "Table"}, "ARN": {"Fn::GetAtt": ["Table", "Arn"]}}
    assert merged["Resources"]["Table"]["Metadata"]["agri:stack"] == "Data"
    assert merged["Resources"]["Fn"]["Metadata"]["agri:stack"] == "App"
    assert merged["Metadata"]["agri:stacks"] == ["Data", "App"]


@pytest.mark.parametrize(
    "reference",
    [
        {"Fn::ImportValue": "Data:Missing"},
        {"Fn::GetStackOutput": {"StackName": "Data", "OutputName": "Missing"}},
        {"Fn::GetStackOutput": {"StackName": "Other", "OutputName": "PublishOutputTableArn"}},
    ],
)
def test_merge_refuses_a_reference_nothing_declares(reference):
    app = json.loads(json.dumps(APP))
    app["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]["X"] = reference
    with pytest.raises(ValueError, match="does not declare|no stack of the app exports"):
        merge_stacks([("Data", DATA), ("App", app)])


def test_merge_refuses_a_logical_id_defined_by_two_stacks():
    app = json.loads(json.dumps(APP))
    app["Resources"]["Table"] = {"Type": "AWS::S3::Bucket"}
    with pytest.raises(ValueError, match="Table is defined by both Data and App"):
        merge_stacks([("Data", DATA), ("App", app)])


def test_dependency_order_puts_producers_first_and_refuses_cycles():
    assert dependency_order({"app": ["data"], "data": [], "ops": ["app", "data"]}) == ["data", "app", "ops"]
    with pytest.raises(ValueError, match="cycle"):
        dependency_order({"a": ["b"], "b": ["a"]})


def _has_cross_stack_reference(node) -> bool:
    text = json.dumps(node)
    return any(name in text for name in CROSS_STACK_INTRINSICS)


def test_the_twins_template_is_every_stack_with_references_resolved(synthesized):
    merged = synthesized.template
    assert not _has_cross_stack_reference(merged)
    expected = {
        lid for stack in synthesized.stacks for lid, r in stack.resources().items() if r["Type"] != "AWS::CDK::Metadata"
    }
    assert set(merged["Resources"]) == expected
    assert all(_has_cross_stack_reference(s.template) for s in synthesized.stacks[1:])  # something to resolve


def test_the_twin_loads_a_cloud_assembly_or_the_merged_template(synthesized):
    """``python -m infra.local --template cdk.out`` (after ``npx cdk synth``) runs the same app as
    the merged template the session's synth wrote."""
    from_assembly = load_app_template(synthesized.outdir)
    assert from_assembly == json.loads(json.dumps(synthesized.template))
    assert load_app_template(synthesized.template_path) == from_assembly


def test_one_stack_of_several_is_refused_with_a_hint(synthesized):
    with pytest.raises(ValueError, match="pass the cloud assembly directory"):
        load_app_template(synthesized.stacks[1].template_path)
