"""The REST API: routes from the handlers' own route tables, one Cognito authorizer, JSON errors.

Routes are never listed here: :meth:`Api.add_routes` receives what ``infra.routes.load_routes``
read from a handler's Powertools resolver. A route whose operation declares security
(``agri_common.platform.resolver.PRIVATE``) gets the Cognito user-pool authorizer (ID tokens in the
``Authorization`` header); any other route is public (AuthorizationType NONE).

API Gateway's own errors (no/invalid token, unknown path, throttling, oversized body...) answer with
the same envelope as the handlers, ``{"error": {"code", "message", "request_id"}}``, and a CORS
header, so a browser client reads every error the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StageConfig
from infra.routes import Route

ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Api-Key"]
# Every media type is binary (decision 0019): API Gateway returns a function's base64 body as bytes
# only when the request's *first* Accept type matches one of these, and a browser's plain link
# (``text/html,...``) or curl (``*/*``) never names application/pdf first. So every request body also
# reaches the functions base64-encoded (agri_common.platform.body decodes it), and the CORS preflight
# mocks convert to text (:func:`preflight_as_text`).
BINARY_MEDIA_TYPES = ["*/*"]

# (gateway response type, status code or None to keep API Gateway's, stable error code)
GATEWAY_ERRORS: tuple[tuple[apigw.ResponseType, str | None, str], ...] = (
    (apigw.ResponseType.UNAUTHORIZED, "401", "unauthorized"),
    (apigw.ResponseType.ACCESS_DENIED, "403", "forbidden"),
    # A REST API answers unknown paths/methods with MISSING_AUTHENTICATION_TOKEN (403 by default).
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "route_not_found"),
    (apigw.ResponseType.THROTTLED, "429", "too_many_requests"),
    # API-key routes (the registry view): no, unknown or revoked key; the key's usage plan quota used up.
    (apigw.ResponseType.INVALID_API_KEY, "403", "invalid_api_key"),
    (apigw.ResponseType.QUOTA_EXCEEDED, "429", "quota_exceeded"),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large"),
    (apigw.ResponseType.DEFAULT_4_XX, None, "bad_request"),
    (apigw.ResponseType.DEFAULT_5_XX, None, "internal_error"),
)

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "errorMessage": "$context.error.message",
    "errorType": "$context.error.responseType",
    "user": "$context.authorizer.claims.sub",
    "xrayTraceId": "$context.xrayTraceId",
}


def error_template(code: str) -> str:
    """The VTL body of a gateway response (``messageString`` is already a quoted JSON string)."""
    return (
        '{"error": {"code": "' + code + '", "message": $context.error.messageString, '
        '"request_id": "$context.requestId"}}'
    )


def cors_origin_header(origins: Iterable[str]) -> str:
    """The Access-Control-Allow-Origin value of gateway responses.

    Gateway responses cannot run the preflight's origin check: with one allowed origin the header
    is that origin; with several it echoes the caller's Origin. That exposes nothing: the bodies
    are error envelopes without data, and credentials (cookies) are never allowed.
    """
    origins = list(origins)
    return f"'{origins[0]}'" if len(origins) == 1 else "method.request.header.Origin"


def needs_preflight(route: Route) -> bool:
    """Whether a browser sends a CORS preflight (OPTIONS) before calling ``route``.

    Every route of this API may be called by the web app (the stage's ``cors_origins``), except
    that the browser preflights only non-simple requests: a private route carries the
    ``Authorization`` header, and every non-GET route of ours sends a JSON body
    (``Content-Type: application/json``), so both need an OPTIONS method on their resource. A public
    GET (``/health``, ``/openapi.json``) is a simple request: the browser sends it directly and reads
    the handler's own ``Access-Control-Allow-Origin``, so no preflight method is created for it.
    Neither is one created on the root or on a path segment that has no route of its own (e.g.
    ``/fpos/{fpo_id}/members``): API Gateway answers OPTIONS there like any unknown method (404).
    A route that requires an API key is preflighted too: its ``x-api-key`` header is not a simple one.
    """
    return not route.public or route.api_key or route.method not in ("GET", "HEAD")


def preflight_as_text(method: apigw.Method) -> None:
    """``ContentHandling: CONVERT_TO_TEXT`` on a CORS preflight's mock integration and its response.

    With ``*/*`` binary, every request is binary to API Gateway (no Content-Type counts as
    application/json), and a MOCK integration cannot apply its request template to a binary payload:
    every OPTIONS would answer 500 (API_CONFIGURATION_ERROR, "Unable to transform request"; reported
    in aws/chalice#1310, aws/serverless-application-model#553). CDK's ``add_cors_preflight`` has no
    option for it, hence the override on the synthesized method. The twin refuses a preflight
    without it, as AWS does (infra/local/content.py)."""
    cfn = method.node.default_child
    if not isinstance(cfn, apigw.CfnMethod):
        raise TypeError(f"{method.node.path} has no CfnMethod")
    cfn.add_property_override("Integration.ContentHandling", "CONVERT_TO_TEXT")
    cfn.add_property_override("Integration.IntegrationResponses.0.ContentHandling", "CONVERT_TO_TEXT")


class Api(Construct):
    """The REST API, its stage settings, its authorizer and its gateway responses."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, user_pool: cognito.IUserPool
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, removal_policy=config.cdk_removal_policy
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description=f"agri-mrv API ({config.name})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The fpo domain's Excel reports and zips of CSVs and the farmers domain's credit
            # statements leave Lambda base64-encoded (isBase64Encoded); see BINARY_MEDIA_TYPES.
            binary_media_types=BINARY_MEDIA_TYPES,
            # Execution logs need the account-level API Gateway role; retained on delete because
            # it is shared by every REST API of the account and region.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=config.name,
                throttling_rate_limit=config.throttle_rate_limit,
                throttling_burst_limit=config.throttle_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                logging_level=apigw.MethodLoggingLevel.INFO,
                data_trace_enabled=False,  # full bodies would log passwords and tokens
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        self._cors = apigw.CorsOptions(
            allow_origins=list(config.cors_origins),
            allow_methods=apigw.Cors.ALL_METHODS,
            allow_headers=ALLOWED_HEADERS,
            max_age=Duration.minutes(10),
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[user_pool],
            identity_source=apigw.IdentitySource.header("Authorization"),
        )
        self._routes: dict[tuple[str, str], str] = {}
        self._preflights: set[str] = set()
        self._preflight_paths: set[str] = set()
        self.usage_plans = self._add_usage_plans(config)
        self._add_gateway_responses(config)
        self._acknowledge_api_findings()

    def _add_usage_plans(self, config: StageConfig) -> dict[str, apigw.UsagePlan]:
        """One usage plan per tier of ``config.api_plans``, on this API's stage: every integrator key
        (``POST /admin/api-keys``) joins one, which throttles it and caps its requests per period
        (API Gateway answers 429 past either). Keys exist only at run time; none is in the template."""
        plans = {}
        for name, plan in sorted(config.api_plans.items()):
            plans[name] = apigw.UsagePlan(
                self,
                f"Plan{name.title()}",
                name=f"agri-mrv-{config.name}-{name}",
                description=plan.description or f"Integrator keys, tier {name}",
                throttle=apigw.ThrottleSettings(rate_limit=plan.rate_limit, burst_limit=plan.burst_limit),
                quota=apigw.QuotaSettings(limit=plan.quota_limit, period=apigw.Period(plan.quota_period)),
                api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
            )
        return plans

    @property
    def url(self) -> str:
        return self.rest_api.url

    def add_routes(self, owner: str, routes: Iterable[Route], handler: lambda_.IFunction) -> None:
        """One API method per route, proxied to ``handler``; ``owner`` names the domain in errors.

        One invoke permission per function, not per method: ``scope_permission_to_method=False``
        makes CDK add a single ``AWS::Lambda::Permission`` for the function, whose source is this
        API's execution ARN with wildcards (``arn:...:execute-api:<region>:<account>:<api id>/*/*/*``:
        any stage, method and path of this API only), and no test-invoke permissions. The function
        routes by itself, so a request for a path it does not serve answers its 404.
        """
        integration = apigw.LambdaIntegration(handler, proxy=True, scope_permission_to_method=False)
        for route in routes:
            key = (route.method, route.path)
            if key in self._routes:
                raise ValueError(f"{route.method} {route.path} is declared by both {self._routes[key]} and {owner}")
            self._routes[key] = owner
            resource = self.rest_api.root.resource_for_path(route.path)
            if route.public and route.api_key:
                method = resource.add_method(
                    route.method, integration, authorization_type=apigw.AuthorizationType.NONE, api_key_required=True
                )
                Validations.of(method).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions-APIG4",
                        reason=f"{route.method} {route.path} is the public registry view: no account, but an "
                        "API key is required (apiKeyRequired) and metered by its usage plan (docs/decisions/0016).",
                    ),
                    Acknowledgment(
                        id="AwsSolutions-COG4",
                        reason=f"{route.method} {route.path} is authorized by API key, not Cognito (see APIG4).",
                    ),
                )
            elif route.public:
                method = resource.add_method(route.method, integration, authorization_type=apigw.AuthorizationType.NONE)
                Validations.of(method).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions-APIG4",
                        reason=f"{route.method} {route.path} is public by design: its handler "
                        "declares no security (sign-up/login/recovery, health, docs); "
                        "the infra tests pin the public set to an allow-list.",
                    ),
                    Acknowledgment(
                        id="AwsSolutions-COG4", reason=f"{route.method} {route.path} is public by design (see APIG4)."
                    ),
                )
            else:
                resource.add_method(
                    route.method,
                    integration,
                    authorizer=self.authorizer,
                    authorization_type=apigw.AuthorizationType.COGNITO,
                )
            if needs_preflight(route) and route.path not in self._preflight_paths:
                self._preflight_paths.add(route.path)
                resource.add_cors_preflight(
                    allow_origins=self._cors.allow_origins,
                    allow_methods=self._cors.allow_methods,
                    allow_headers=self._cors.allow_headers,
                    max_age=self._cors.max_age,
                )
        self._acknowledge_preflights()

    def _acknowledge_preflights(self) -> None:
        """CORS preflight (OPTIONS, a mock integration) is unauthenticated by the CORS protocol, and
        converts its payload to text (:func:`preflight_as_text`)."""
        for method in self.rest_api.methods:
            if method.http_method != "OPTIONS" or method.node.path in self._preflights:
                continue
            self._preflights.add(method.node.path)
            preflight_as_text(method)
            Validations.of(method).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-APIG4",
                    reason="CORS preflight: browsers send no Authorization header on OPTIONS, and "
                    "this mock integration only returns CORS headers.",
                ),
                Acknowledgment(id="AwsSolutions-COG4", reason="CORS preflight must be unauthenticated (see APIG4)."),
            )

    def _add_gateway_responses(self, config: StageConfig) -> None:
        headers = {"Access-Control-Allow-Origin": cors_origin_header(config.cors_origins), "Vary": "'Origin'"}
        for response_type, status, code in GATEWAY_ERRORS:
            self.rest_api.add_gateway_response(
                code.title().replace("_", "") + "Response",
                type=response_type,
                status_code=status,
                response_headers=headers,
                templates={"application/json": error_template(code)},
            )

    def _acknowledge_api_findings(self) -> None:
        Validations.of(self.rest_api).acknowledge(
            Acknowledgment(
                id="AwsSolutions-APIG2",
                reason="Request validation happens in the handlers (Powertools + pydantic), which "
                "answer 422 with field-level details in the team's error envelope; API "
                "Gateway models would duplicate the schemas and answer with a bare message.",
            ),
            Acknowledgment(
                id="AwsSolutions-APIG3",
                reason="No WAF web ACL for the pilot (about USD 5/month + per-rule and per-request "
                "fees); stage throttling and Cognito bound abuse. A documented limit, to "
                "revisit before public launch.",
            ),
        )
        Validations.of(self.rest_api.node.find_child("CloudWatchRole")).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                reason="The account-level role API Gateway assumes for execution logs; AWS documents "
                "this managed policy for it, and API Gateway chooses the log group names.",
            ),
        )
