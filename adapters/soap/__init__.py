"""SOAP for agency systems that speak it: the agency API's operations over SOAP 1.1 and
1.2, document/literal (schemas/axis.wsdl, docs/soap.md), hand-written on lxml."""

from adapters.soap.endpoint import mount

__all__ = ["mount"]
