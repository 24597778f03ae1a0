"""Create the template's data resources in moto, and record their names/ARNs for intrinsics.

Only what the handlers talk to is provisioned: DynamoDB tables, S3 buckets, the Cognito pool with
its groups and clients, and API Gateway's usage plans (the admin function adds integrator keys to
them; infra/local/api_keys.py enforces them). IAM, logs and the other API Gateway resources are not
emulated by moto's data plane (the HTTP front plays API Gateway; IAM is verified on the template by
the infrastructure tests).
"""

from __future__ import annotations

import hashlib
from typing import Any

import boto3

from infra.local.template import ACCOUNT_ID, Resolver, resources_of

TABLE_KEYS = (
    "KeySchema",
    "AttributeDefinitions",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
)
POOL_KEYS = (
    "Policies",
    "Schema",
    "AutoVerifiedAttributes",
    "AliasAttributes",
    "UsernameAttributes",
    "MfaConfiguration",
    "AdminCreateUserConfig",
    "AccountRecoverySetting",
    "UsernameConfiguration",
    "VerificationMessageTemplate",
    "DeletionProtection",
    "UserAttributeUpdateSettings",
)
CLIENT_KEYS = (
    "ClientName",
    "ExplicitAuthFlows",
    "GenerateSecret",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
    "EnableTokenRevocation",
    "PreventUserExistenceErrors",
    "SupportedIdentityProviders",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "CallbackURLs",
    "LogoutURLs",
    "AuthSessionValidity",
)


def _physical(stack: str, logical_id: str, limit: int = 63) -> str:
    digest = hashlib.sha1(logical_id.encode()).hexdigest()[:8]
    return f"{stack}-{logical_id}"[: limit - 9] + f"-{digest}"


def _pick(props: dict, keys: tuple[str, ...], resolver: Resolver) -> dict:
    return {k: resolver.resolve(props[k]) for k in keys if k in props}


class Provisioner:
    def __init__(self, template: dict, resolver: Resolver):
        self.template = template
        self.r = resolver
        self.user_pools: dict[str, str] = {}  # logical id -> pool id
        self.clients: dict[str, list[str]] = {}  # pool id -> client ids
        self.usage_plans: dict[str, str] = {}  # logical id -> usage plan id (in moto)

    def run(self) -> None:
        for lid, res in resources_of(self.template, "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            self.table(lid, res["Properties"])
        for lid, res in resources_of(self.template, "AWS::S3::Bucket"):
            self.bucket(lid, res.get("Properties", {}))
        for lid, res in resources_of(self.template, "AWS::Cognito::UserPool"):
            self.user_pool(lid, res.get("Properties", {}))
        for lid, res in resources_of(self.template, "AWS::Cognito::UserPoolGroup"):
            self.group(lid, res["Properties"])
        for lid, res in resources_of(self.template, "AWS::Cognito::UserPoolClient"):
            self.client(lid, res["Properties"])
        for lid, res in resources_of(self.template, "AWS::SecretsManager::Secret"):
            self.secret(lid, res.get("Properties", {}))
        for lid, res in resources_of(self.template, "AWS::Lambda::Function"):
            name = res["Properties"].get("FunctionName") or _physical(self.r.stack_name, lid, 64)
            self.r.refs[lid] = name
            self.r.attrs[lid] = {"Arn": f"arn:aws:lambda:{self.r.region}:{ACCOUNT_ID}:function:{name}"}
        for lid, res in resources_of(self.template, "AWS::IAM::Role"):
            name = res.get("Properties", {}).get("RoleName") or _physical(self.r.stack_name, lid, 64)
            self.r.refs[lid] = name
            self.r.attrs[lid] = {"Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", "RoleId": name}
        for lid, res in resources_of(self.template, "AWS::StepFunctions::StateMachine"):
            self.state_machine(lid, res["Properties"])
        for lid, res in resources_of(self.template, "AWS::ApiGateway::UsagePlan"):
            self.usage_plan(lid, res.get("Properties", {}))

    def usage_plan(self, lid: str, props: dict) -> None:
        """The plan's name, throttle and quota (its API stage is the twin's front, not a moto API)."""
        kwargs: dict[str, Any] = {"name": props.get("UsagePlanName") or _physical(self.r.stack_name, lid, 128)}
        if props.get("Description"):
            kwargs["description"] = props["Description"]
        throttle, quota = props.get("Throttle") or {}, props.get("Quota") or {}
        if throttle:
            kwargs["throttle"] = {
                k: v
                for k, v in (("rateLimit", throttle.get("RateLimit")), ("burstLimit", throttle.get("BurstLimit")))
                if v is not None
            }
        if quota:
            kwargs["quota"] = {"limit": int(quota["Limit"]), "period": quota.get("Period", "DAY")}
        plan_id = boto3.client("apigateway").create_usage_plan(**kwargs)["id"]
        self.usage_plans[lid] = plan_id
        self.r.refs[lid] = plan_id

    def table(self, lid: str, props: dict) -> None:
        name = props.get("TableName") or _physical(self.r.stack_name, lid, 255)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            **_pick(props, TABLE_KEYS, self.r),
        }
        for gsi in kwargs.get("GlobalSecondaryIndexes", []):
            gsi.pop("ContributorInsightsSpecification", None)
        if "StreamSpecification" in kwargs:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **kwargs["StreamSpecification"]}
        ddb = boto3.client("dynamodb")
        desc = ddb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
            )
        self.r.refs[lid] = name
        self.r.attrs[lid] = {
            "Arn": desc["TableArn"],
            "StreamArn": desc.get("LatestStreamArn", f"{desc['TableArn']}/stream/local"),
        }

    def bucket(self, lid: str, props: dict) -> None:
        name = (props.get("BucketName") or _physical(self.r.stack_name, lid)).lower()
        s3 = boto3.client("s3")
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.r.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.r.region}
        if props.get("ObjectLockEnabled"):
            kwargs["ObjectLockEnabledForBucket"] = True
        s3.create_bucket(**kwargs)
        if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled" or props.get("ObjectLockEnabled"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        lock = props.get("ObjectLockConfiguration")
        if lock and lock.get("Rule"):
            s3.put_object_lock_configuration(
                Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": lock["Rule"]}
            )
        if props.get("PublicAccessBlockConfiguration"):
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        cors = props.get("CorsConfiguration")
        if cors:
            rename = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds", "Id": "ID"}  # CFN vs S3 API names
            rules = [{rename.get(k, k): v for k, v in rule.items()} for rule in self.r.resolve(cors["CorsRules"])]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        self.r.refs[lid] = name
        self.r.attrs[lid] = {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self.r.region}.amazonaws.com",
        }

    def state_machine(self, lid: str, props: dict) -> None:
        """The very definition CDK synthesized, with its intrinsics resolved to local names/ARNs."""
        import json

        definition = props.get("DefinitionString")
        definition = (
            self.r.resolve(definition) if definition is not None else json.dumps(self.r.resolve(props["Definition"]))
        )
        subs = {k: self.r.resolve(v) for k, v in (props.get("DefinitionSubstitutions") or {}).items()}
        for key, value in subs.items():
            definition = definition.replace("${" + key + "}", str(value))
        name = props.get("StateMachineName") or _physical(self.r.stack_name, lid, 80)
        arn = boto3.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=self.r.resolve(props["RoleArn"]),
            type=props.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        self.r.refs[lid] = arn
        self.r.attrs[lid] = {"Arn": arn, "Name": name}

    def secret(self, lid: str, props: dict) -> None:
        """A secret with its value generated as Secrets Manager would (GenerateSecretString)."""
        import json
        import secrets as pysecrets
        import string

        name = props.get("Name") or _physical(self.r.stack_name, lid, 256)
        value = props.get("SecretString")
        gen = props.get("GenerateSecretString")
        if value is None and gen is not None:
            alphabet = (
                string.ascii_letters
                + string.digits
                + ("" if gen.get("ExcludePunctuation") else "!#$%&()*+,-.:;<=>?[]^_{|}~")
            )
            alphabet = "".join(c for c in alphabet if c not in gen.get("ExcludeCharacters", ""))
            generated = "".join(pysecrets.choice(alphabet) for _ in range(int(gen.get("PasswordLength", 32))))
            if gen.get("SecretStringTemplate") and gen.get("GenerateStringKey"):
                doc = json.loads(gen["SecretStringTemplate"])
                doc[gen["GenerateStringKey"]] = generated
                value = json.dumps(doc)
            else:
                value = generated
        arn = boto3.client("secretsmanager").create_secret(Name=name, SecretString=value or "")["ARN"]
        self.r.refs[lid] = arn
        self.r.attrs[lid] = {"Id": arn}

    def user_pool(self, lid: str, props: dict) -> None:
        idp = boto3.client("cognito-idp")
        kwargs = {
            "PoolName": props.get("UserPoolName") or _physical(self.r.stack_name, lid, 128),
            **_pick(props, POOL_KEYS, self.r),
        }
        if (
            kwargs.get("MfaConfiguration")
            and kwargs["MfaConfiguration"] != "OFF"
            and "SOFTWARE_TOKEN_MFA" not in props.get("EnabledMfas", ["SOFTWARE_TOKEN_MFA"])
        ):
            kwargs["MfaConfiguration"] = "OFF"
        pool = idp.create_user_pool(**kwargs)["UserPool"]
        self.user_pools[lid] = pool["Id"]
        self.r.refs[lid] = pool["Id"]
        self.r.attrs[lid] = {
            "Arn": pool["Arn"],
            "ProviderName": f"cognito-idp.{self.r.region}.amazonaws.com/{pool['Id']}",
            "ProviderURL": f"https://cognito-idp.{self.r.region}.amazonaws.com/{pool['Id']}",
            "UserPoolId": pool["Id"],
        }

    def group(self, lid: str, props: dict) -> None:
        kwargs = {"UserPoolId": self.r.resolve(props["UserPoolId"]), "GroupName": props["GroupName"]}
        for key in ("Description", "Precedence"):
            if key in props:
                kwargs[key] = props[key]
        boto3.client("cognito-idp").create_group(**kwargs)
        self.r.refs[lid] = props["GroupName"]

    def client(self, lid: str, props: dict) -> None:
        pool_id = self.r.resolve(props["UserPoolId"])
        kwargs = {
            "UserPoolId": pool_id,
            "ClientName": props.get("ClientName") or lid,
            **_pick(props, CLIENT_KEYS, self.r),
        }
        client = boto3.client("cognito-idp").create_user_pool_client(**kwargs)["UserPoolClient"]
        self.clients.setdefault(pool_id, []).append(client["ClientId"])
        self.r.refs[lid] = client["ClientId"]
        self.r.attrs[lid] = {"ClientId": client["ClientId"], "Name": client["ClientName"]}
