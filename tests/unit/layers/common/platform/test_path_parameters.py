"""Route arguments are percent-decoded, as API Gateway decodes pathParameters."""

from agri_common.platform.resolver import make_handler, make_resolver
from tests.unit.functions.conftest import call

app = make_resolver()


@app.get("/things/<thing_id>")
def get_thing(thing_id: str) -> dict:
    return {"thing_id": thing_id}


class Module:
    lambda_handler = staticmethod(make_handler(app))


def test_an_encoded_path_parameter_reaches_the_route_decoded():
    r = call(Module, "GET", "/things/demo%2Dfarmer", resource="/things/{thing_id}")
    assert r.status == 200 and r.body == {"thing_id": "demo-farmer"}


def test_plus_stays_a_plus_and_an_encoded_slash_stays_in_its_segment():
    assert call(Module, "GET", "/things/a+b%40c").body == {"thing_id": "a+b@c"}
    assert call(Module, "GET", "/things/a%2Fb").body == {"thing_id": "a/b"}


def test_an_unencoded_parameter_is_unchanged():
    assert call(Module, "GET", "/things/plain-id_1").body == {"thing_id": "plain-id_1"}
