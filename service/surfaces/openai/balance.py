"""`GET /v1/balance`: the tenant's credits, read from its ledger (strongly consistent)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEOS_READ
from service.billing.balance import balance_object
from service.runtime import Runtime
from service.surfaces.openai.shapes.billing import Balance


async def get_balance(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_READ)
    account = await run_in_threadpool(rt.gateway.find_account, principal.tenant)
    return JSONResponse(Balance(**balance_object(account)).model_dump(mode="json"))


routes = [Route("/v1/balance", get_balance, methods=["GET"])]
