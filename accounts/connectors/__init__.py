"""Connected systems (contract database, order status, outage system, line test).

A small interface with one error type and a registry of dotted paths, like the SMS gateways:
ICENTER_CONNECTOR is "demo" (built in, so `make run` shows data), "http" (JSON over HTTP at
ICENTER_CONNECTOR_URL) or the dotted path of a class of your own.
"""

from accounts.connectors.base import (
    Connector,
    ConnectorError,
    Contract,
    LineTestResult,
    Order,
    OutageReport,
    get_connector,
)

__all__ = [
    "Connector",
    "ConnectorError",
    "Contract",
    "LineTestResult",
    "Order",
    "OutageReport",
    "get_connector",
]
