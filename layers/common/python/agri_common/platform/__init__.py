"""Platform code of every agri-mrv Lambda: the resolver and request hygiene, errors, principals and
access policy, AWS clients and the store base, settings, observability, pagination, identity,
token revocation, the workflow client and the timestamp formats. No table schema lives here
(docs/decisions/0010-shared-layer-modules.md)."""
