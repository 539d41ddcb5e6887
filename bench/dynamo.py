"""The benchmark's DynamoDB: moto's server on loopback, with the app's table and data.

    .venv/bin/python -m bench.dynamo TABLE

Run by bench/workspace.py (DeployedServers) with the dev environment's python (moto, boto3 and the app's
store). Starts the server, creates the table as the template defines it (the
store's own definition, which a test keeps equal to the template's), writes the
demo menu and one order of the benchmark's customer through the app's store,
prints ``{"url": ..., "order_id": ...}`` on one line and serves until its
standard input closes. Credentials are the parent's stand-ins: nothing here
reaches AWS.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from moto.server import ThreadedMotoServer

from app.orders.ids import new_order_id
from app.store.base import MenuItem, Order, OrderLine
from app.store.dynamodb import DynamoStore

CUSTOMER = "bench-customer"  # the sub of bench/subjects.py's token
MENU = [("margherita", "Margherita", 1150), ("marinara", "Marinara", 950), ("diavola", "Diavola", 1350)]


def seed(store: DynamoStore) -> str:
    for item_id, name, price in MENU:
        store.put_menu_item(MenuItem(id=item_id, name=name, price_cents=price, available=True))
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lines = (OrderLine("margherita", "Margherita", 2, 1150), OrderLine("diavola", "Diavola", 1, 1350))
    order = Order(
        id=new_order_id(), customer=CUSTOMER, status="placed", lines=lines,
        total_cents=sum(line.quantity * line.unit_price_cents for line in lines),
        note=None, created_at=now, updated_at=now, version=1,
    )  # fmt: skip
    store.create_order(order)
    return order.id


def main() -> None:
    table = sys.argv[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        store = DynamoStore(table, endpoint_url=url, region="us-east-1")
        store.ensure_table()
        print(json.dumps({"url": url, "order_id": seed(store)}), flush=True)
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
