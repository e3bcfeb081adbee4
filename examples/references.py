"""References: a call uses another call's result, by the other's id or by its position.

``"$call_a1.id"`` names a call by id; ``"$#2.orders.0.id"`` names the second
call of the turn, which is what a model can write when it cannot know the
ids its provider will give its calls. The referenced value replaces the
string itself (a number stays a number), and the call waits for the one it
references. ``"$$"`` at the start escapes a literal ``$``. Runs on Trio's
MockClock.
"""

from typing import Any

import trio
import trio.testing

from trio_toolpar import Executor, Registry, ToolCall

tools = Registry()


@tools.tool(side_effect="read", resource="crm")
async def find_customer(email: str) -> dict[str, Any]:
    """Look a customer up by email."""
    await trio.sleep(0.3)
    return {"id": 42, "email": email}


@tools.tool(side_effect="read", resource="shop")
async def list_orders(customer_id: int) -> dict[str, Any]:
    """A customer's orders, newest first."""
    await trio.sleep(0.2)
    return {"orders": [{"id": f"ord_{customer_id}_7", "total": 19.5}, {"id": f"ord_{customer_id}_3", "total": 5.0}]}


@tools.tool(side_effect="write", resource="shop", key="order:{order_id}")
async def refund(order_id: str, amount: float, note: str) -> str:
    """Refund an order."""
    await trio.sleep(0.1)
    return f"refunded {amount} on {order_id} ({note})"


async def main() -> None:
    calls = [
        ToolCall(id="call_a1", tool="find_customer", arguments={"email": "ada@example.com"}),
        ToolCall(id="call_b2", tool="list_orders", arguments={"customer_id": "$call_a1.id"}),
        ToolCall(
            id="call_c3",
            tool="refund",
            arguments={"order_id": "$#2.orders.0.id", "amount": "$#2.orders.0.total", "note": "$$5 goodwill"},
        ),
    ]
    executor = Executor(tools)
    plan = executor.plan(calls)
    for pc in plan.calls:
        needs = ", ".join(plan.calls[i].call.id for i in pc.needs) or "nothing"
        print(f"{pc.call.id} (wave {pc.generation}) needs {needs}")
    result = await executor.run(calls)
    for o in result:
        start = o.started_at - result.started_at if o.started_at is not None else float("nan")
        print(f"{o.call_id}: {o.status} at {start:.1f} s -> {o.value!r}")


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
