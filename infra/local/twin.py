"""The local twin: moto's server + our handlers + an HTTP front, all from the synthesized template.

The app has several stacks (docs/stacks.md); the twin runs their merged template: every stack's
resources with the cross-stack references resolved (infra.local.template.merge_stacks).

    python -m infra.local            # what the README's run command starts

Only endpoints differ from AWS: boto3 talks to moto through ``AWS_ENDPOINT_URL``; the HTTP front
plays API Gateway. The handlers, the route table and the resource definitions are the deployed ones.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.local import moto_ext
from infra.local.api_keys import ApiKeyGate, MotoKeyLookup, usage_plans
from infra.local.content import BinaryMediaTypes
from infra.local.front import ApiFront, CognitoVerifier, TokenBucket, serve
from infra.local.lambdas import LocalFunction, merged_environment
from infra.local.provision import Provisioner
from infra.local.template import (
    Resolver,
    authorizers,
    function_specs,
    gateway_responses,
    route_specs,
    stage_name,
    stage_throttle,
)
from infra.routes import ROOT, ensure_import_paths

DEMO_FPO = "FPO-DEMO-1"
DEMO_ROLES = ("farmer", "fpo_manager", "auditor", "admin")
WILDCARD_HOSTS = ("0.0.0.0", "")  # listen on every IPv4 interface


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DemoUser:
    username: str
    password: str
    role: str
    fpo_id: str | None
    totp_secret: str | None = None  # admins and auditors: TOTP enrolled at seeding (docs/decisions/0015)


MFA_ROLES = ("admin", "auditor")


def login_tokens(post: Callable[[str, dict], dict], username: str, password: str, totp_secret: str | None) -> dict:
    """The tokens of ``POST /auth/login``, answering a ``SOFTWARE_TOKEN_MFA`` challenge with the
    current code of ``totp_secret`` (the demo admin and auditor have one). ``post(path, body)``
    answers the JSON body; any other outcome raises with the answer."""
    answer = post("/auth/login", {"username": username, "password": password})
    challenge = answer.get("challenge") or {}
    if challenge.get("challenge_name") == "SOFTWARE_TOKEN_MFA" and totp_secret:
        import time

        answer = post(
            "/auth/challenge",
            {
                "challenge_name": "SOFTWARE_TOKEN_MFA",
                "session": challenge["session"],
                "username": username,
                "totp_code": moto_ext.totp_code(totp_secret, time.time()),
            },
        )
    if not answer.get("tokens"):
        raise RuntimeError(f"login of {username} gave no tokens: {answer}")
    tokens: dict = answer["tokens"]
    return tokens


@dataclass
class LocalTwin:
    template: dict | None = None
    stage: str = "dev"
    host: str = "127.0.0.1"  # the API front's address; 0.0.0.0 in a container (moto and the chain stay on loopback)
    api_port: int = 0
    moto_port: int = 0
    region: str = "ap-south-1"
    seed_users: bool = True
    chain_port: int = 0  # the JSON-RPC bridge to the in-process EVM (0 = any free port)
    demo_users: list[DemoUser] = field(default_factory=list)
    resolver: Resolver | None = None
    schedules: bool = True  # fire the template's scheduled rules on the clock (False: only on demand)

    def start(self) -> LocalTwin:
        ensure_import_paths()
        self.moto_port = self.moto_port or free_port()
        self.api_port = self.api_port or free_port()
        self._environment()
        self._start_moto()
        if self.template is None:
            from infra.synth import synth

            self.template = synth(self.stage, bundle=False, outdir=ROOT / ".local" / "cdk.out").template
        self.resolver = Resolver(self.region, self._stack_name())
        provisioner = Provisioner(self.template, self.resolver)
        provisioner.run()
        from infra.local.queues import LocalQueues

        self.queues = LocalQueues(self.template, self.resolver).provision()  # before the functions' environment
        self.functions = self._functions()
        self.queues.verify_email_senders(dict(os.environ))
        self.queues.start({lid: f.invoke for lid, f in self.functions.items()})  # SQS event source mappings
        self._serve_invokes()
        self._scheduler()
        self._start_chain_bridge()
        self.front = ApiFront(
            route_specs(self.template),
            self.functions,
            self._verifiers(provisioner),
            gateway_responses(self.template),
            TokenBucket(*stage_throttle(self.template)),
            stage_name(self.template),
            api_keys=self._api_keys(provisioner),
            binary=BinaryMediaTypes.from_template(self.template),
        )
        self._start_http()
        if self.seed_users:
            self._seed(provisioner)
            self._seed_demo_fpo()
        return self

    # ---- setup ------------------------------------------------------------------------------------
    def _environment(self) -> None:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "MOTO_PORT": str(self.moto_port),
            }
        )
        os.environ.pop("AWS_PROFILE", None)

    def _start_moto(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log

        moto_ext.install()
        from infra.local import outbox

        outbox.install()  # GET <moto>/moto-api/agri/sent-messages: the SMS and email the twin "sent"
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self._moto.start()
        import requests

        requests.post(
            f"{self.moto_url}/moto-api/config",
            timeout=10,
            json={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
        )

    def _stack_name(self) -> str:
        meta = (self.template or {}).get("Metadata", {})
        stacks = meta.get("agri:stacks") or [meta.get("agri:stack", f"AgriMrv-{self.stage}")]
        return str(stacks[0])

    def _functions(self) -> dict[str, LocalFunction]:
        specs = function_specs(self.template or {})
        envs = {lid: {k: self.resolver.resolve(v) for k, v in spec.environment.items()} for lid, spec in specs.items()}
        os.environ.update(merged_environment(envs))
        return {lid: LocalFunction(spec, self.resolver.ref(lid), self.region) for lid, spec in specs.items()}

    def _verifiers(self, provisioner: Provisioner) -> dict[str, CognitoVerifier]:
        verifiers = {}
        for lid, props in authorizers(self.template or {}).items():
            if props.get("Type") != "COGNITO_USER_POOLS":
                continue
            pool_arn = self.resolver.resolve(props["ProviderARNs"][0])
            pool_id = pool_arn.rsplit("/", 1)[-1]
            verifiers[lid] = CognitoVerifier(
                jwks_url=f"{self.moto_url}/{pool_id}/.well-known/jwks.json",
                issuer=f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}",
                audiences=provisioner.clients.get(pool_id, []),
            )
        return verifiers

    def _api_keys(self, provisioner: Provisioner) -> ApiKeyGate:
        """Keys and usage plans enforced as API Gateway does (infra/local/api_keys.py)."""
        plans = {provisioner.usage_plans[p.logical_id]: p for p in usage_plans(self.template or {})}
        return ApiKeyGate(plans, MotoKeyLookup(sorted(plans)))

    def _start_http(self) -> None:
        # /docs: the docs function; /_twin/jobs: the scheduler's control endpoint (infra/local/jobs.py)
        self._http, self._http_thread = serve(self.front, self.host, self.api_port, self.scheduler.control)

    def _seed(self, provisioner: Provisioner) -> None:
        """One demo user per role, with a fresh strong password printed at start."""
        import boto3

        idp = boto3.client("cognito-idp")
        for pool_id in provisioner.user_pools.values():
            for role in DEMO_ROLES:
                username = f"demo-{role.replace('_', '-')}"
                password = f"Demo-{secrets.token_urlsafe(9)}-7a"
                fpo = DEMO_FPO if role in ("farmer", "fpo_manager") else None
                attrs = [{"Name": "name", "Value": f"Demo {role}"}]
                if fpo:
                    attrs.append({"Name": "custom:fpo_id", "Value": fpo})
                idp.admin_create_user(
                    UserPoolId=pool_id, Username=username, UserAttributes=attrs, MessageAction="SUPPRESS"
                )
                idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
                idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=role)
                secret = self._enrol_totp(idp, provisioner, pool_id, username, password) if role in MFA_ROLES else None
                self.demo_users.append(DemoUser(username, password, role, fpo, secret))

    @staticmethod
    def _enrol_totp(idp: Any, provisioner: Provisioner, pool_id: str, username: str, password: str) -> str:
        """Admins and auditors must have TOTP (decision 0015): the demo ones are enrolled as a user
        would be (associate, verify a real code, prefer TOTP); the secret is printed at start."""
        import time

        from agri_common.platform.identity import CognitoIdentityProvider, Tokens

        # the app client is confidential (decision 0023): sign in as the auth function does
        tokens = CognitoIdentityProvider(pool_id, provisioner.clients[pool_id][0]).login(username, password)
        if not isinstance(tokens, Tokens):
            raise RuntimeError(f"seeding {username}: unexpected challenge {tokens.challenge_name}")
        access = tokens.access_token
        secret: str = idp.associate_software_token(AccessToken=access)["SecretCode"]
        idp.verify_software_token(AccessToken=access, UserCode=moto_ext.totp_code(secret, time.time()))
        idp.set_user_mfa_preference(
            AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
        return secret

    def _seed_demo_fpo(self) -> None:
        """The demo users' FPO, created as any FPO is: the demo admin calls ``POST /fpos`` through
        the front (no business logic here). Skipped when the stack has no such route."""
        import json as _json

        admin = next((u for u in self.demo_users if u.role == "admin"), None)
        if admin is None or not any(r.resource_path == "/fpos" and r.method == "POST" for r in self.front.routes):
            return
        headers = {"Content-Type": "application/json"}

        def post(path: str, body: dict) -> dict:
            answer: dict = _json.loads(self.front.handle("POST", path, headers, _json.dumps(body).encode()).body)
            return answer

        token = login_tokens(post, admin.username, admin.password, admin.totp_secret)["id_token"]
        created = self.front.handle(
            "POST",
            "/fpos",
            {**headers, "Authorization": token},
            _json.dumps({"fpo_id": DEMO_FPO, "name": "Demo Farmer Producer Company", "state": "Punjab"}).encode(),
        )
        if created.status != 201:
            raise RuntimeError(f"seeding {DEMO_FPO} failed: {created.status} {created.body!r}")

    # ---- running ----------------------------------------------------------------------------------
    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def base_url(self) -> str:
        """Where a client on this machine reaches the API: loopback when the front listens on every interface."""
        host = "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
        return f"http://{host}:{self.api_port}"

    def _serve_invokes(self) -> None:
        """lambda:Invoke of a template function (e.g. API -> ledger writer) runs our handler in-process."""
        from infra.local import invoke

        invoke.install()
        for function in self.functions.values():
            invoke.register(function.name, function.arn, function.invoke)

    def _scheduler(self) -> None:
        """The template's scheduled EventBridge rules, fired on the clock unless ``schedules`` is off."""
        from infra.local.jobs import Scheduler, scheduled_rules

        rules = scheduled_rules(self.template or {}, self.resolver)
        self.scheduler = Scheduler(
            rules,
            {lid: fn.invoke for lid, fn in self.functions.items()},
            region=self.region,
            rule_names={r.logical_id: str(self.resolver.ref(r.logical_id)) for r in rules.values()},
        )
        if self.schedules:
            self.scheduler.start()

    def _start_chain_bridge(self) -> None:
        """When the functions are configured for the in-process EVM, expose it over HTTP JSON-RPC."""
        self.chain_bridge = None
        if os.environ.get("CHAIN_RPC_URL", "").startswith("eth-tester://"):
            from infra.local.chain import ChainBridge

            self.chain_bridge = ChainBridge(self.chain_port).start()

    def stop(self) -> None:
        if getattr(self, "queues", None):
            self.queues.stop()
        if getattr(self, "scheduler", None):
            self.scheduler.stop()
        if getattr(self, "chain_bridge", None):
            self.chain_bridge.stop()
        if getattr(self, "_http", None):
            self._http.shutdown()
            self._http.server_close()
        if getattr(self, "_moto", None):
            self._moto.stop()

    def describe(self) -> dict:
        return {
            "api": self.base_url,
            "docs": f"{self.base_url}/docs",
            "moto": self.moto_url,
            "region": self.region,
            "users": [u.__dict__ for u in self.demo_users],
            "resources": dict(self.resolver.refs) if self.resolver else {},
            "chain_rpc": self.chain_bridge.url if getattr(self, "chain_bridge", None) else None,
            "jobs": {
                "scheduled": self.schedules,
                "rules": [r.describe() for r in self.scheduler.rules.values()]
                if getattr(self, "scheduler", None)
                else [],
            },
        }
