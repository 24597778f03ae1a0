"""The agri-mrv stack: composes the constructs, nothing else.

Storage, identity, layers and the API are built once; then, for every domain of
``infra.domains.API_DOMAINS``, its construct (infra/domain_constructs/) creates the function with
its grants and the API gets the routes that the domain's handler declares.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.api import Api
from infra.config import AppSettings
from infra.domain_constructs import DomainConstruct, Platform, construct_for
from infra.domains import API_DOMAINS, Domain
from infra.function import SharedLayers
from infra.identity import Identity
from infra.pipeline import MrvPipeline
from infra.routes import load_routes
from infra.storage import Storage


class AgriMrvStack(Stack):
    """``AgriMrv-<stage>``. Attributes: ``storage``, ``identity``, ``layers``, ``api``, ``domains``."""

    def __init__(self, scope: Construct, settings: AppSettings, *, domains: tuple[Domain, ...] = API_DOMAINS) -> None:
        config = settings.stage
        super().__init__(scope, config.stack_name,
                         description=f"agri-mrv serverless backend for agricultural carbon MRV ({config.name})")
        self.storage = Storage(self, "Storage", config=config)
        self.identity = Identity(self, "Identity", config=config)
        self.layers = SharedLayers(self, "Layers", config=config, install_requirements=settings.bundle_layers)
        self.api = Api(self, "Api", config=config, user_pool=self.identity.user_pool)
        platform = Platform(config=config, app_version=settings.app_version, layers=self.layers,
                            storage=self.storage, identity=self.identity)

        self.domains: dict[str, DomainConstruct] = {}
        for domain in domains:
            routes = load_routes(domain.module)
            construct = construct_for(domain)(self, domain=domain, platform=platform, routes=routes)
            self.api.add_routes(domain.name, routes, construct.handler.function)
            self.domains[domain.name] = construct

        # The MRV state machine: its task functions, the ledger writer step (the ledger domain's
        # function) and the grants of the API domains that start it and answer its task tokens.
        ledger = self.domains.get("ledger")
        self.pipeline = MrvPipeline(self, "Pipeline", platform=platform,
                                    ledger_writer=getattr(ledger, "writer", None) and ledger.writer.function)
        if "projects" in self.domains:
            self.pipeline.grant_start(self.domains["projects"].handler)
        if "verification" in self.domains:
            self.pipeline.grant_task_response(self.domains["verification"].handler)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the REST API stage")
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.identity.client.user_pool_client_id)
