"""`camwatch discover`: WS-Discovery for ONVIF cameras on the local segment.

It sends one Probe (SOAP-over-UDP) only when the user runs the command: by multicast to
239.255.255.250:3702 on the chosen interface (`--interface` = one of this server's addresses), or to
one device (`--address`), and collects the ProbeMatches that arrive within the timeout on the socket
the Probe left from, as the standard says devices answer. (The wsdiscovery library was tried first:
its unicast mode does not listen on the socket it probes from, so devices' answers are lost.)
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree

MULTICAST = ("239.255.255.250", 3702)
NS = {"s": "http://www.w3.org/2003/05/soap-envelope", "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
      "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery"}
PROBE = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{s}" xmlns:a="{a}" xmlns:d="{d}" '
         'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:MessageID>urn:uuid:{{id}}</a:MessageID>'
         "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
         "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>"
         "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"
         ).format(**NS)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


@dataclass(frozen=True)
class Found:
    xaddr: str
    scopes: tuple[str, ...]

    def scope(self, key: str) -> str:
        for s in self.scopes:
            m = re.match(rf"onvif://www\.onvif\.org/{key}/(.+)", s)
            if m:
                return unquote(m.group(1))
        return ""

    def toml(self, n: int) -> str:
        u = urlsplit(self.xaddr)
        name = self.scope("name") or self.scope("hardware") or u.hostname or "camera"
        port = u.port or (443 if u.scheme == "https" else 80)
        return (f'[[cameras]]\nid = "NEW-{n:02d}"\nname = "{name}"          # the place: road, crossing\n'
                f'commune = "…"\nlocation = "{self.scope("location")}"\n'
                f'onvif = {{ host = "{u.hostname}", port = {port} }}\n')


def parse_matches(data: bytes) -> list[Found]:
    try:
        doc = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return []
    out = []
    for m in doc.iterfind(".//d:ProbeMatch", NS):
        scopes = tuple((m.findtext("d:Scopes", namespaces=NS) or "").split())
        for x in (m.findtext("d:XAddrs", namespaces=NS) or "").split():
            out.append(Found(x, scopes))
    return out


def discover(timeout_s: float = 3.0, address: str | None = None, port: int = 3702,
             interface: str | None = None) -> list[Found]:
    probe = PROBE.format(id=uuid.uuid4()).encode()
    found: dict[str, Found] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if interface:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
            sock.bind((interface, 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # the local segment only
        sock.sendto(probe, (address, port) if address else MULTICAST)
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(65536)
            except TimeoutError:
                break
            for f in parse_matches(data):
                found[f.xaddr] = f
    return sorted(found.values(), key=lambda f: f.xaddr)
