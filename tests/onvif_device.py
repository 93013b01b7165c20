"""An ONVIF device for tests: real SOAP 1.2 over HTTP on loopback, WS-Security digest checked.

Answers GetSystemDateAndTime (without auth, as the standard allows), GetDeviceInformation, GetServices,
GetCapabilities, GetProfiles, GetStreamUri and GetSnapshotUri with documents of the ONVIF schema, and
has knobs for what field devices do: a wrong clock, refused credentials, "not supported" faults, slow
answers, malformed XML, an entity-expansion attack, a swapped camera (new serial).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lxml import etree

from camwatch.sim.fleet import free_port

NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "ter": "http://www.onvif.org/ver10/error",
}
ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{env}" xmlns:tds="{tds}" xmlns:trt="{trt}" '
            'xmlns:tt="{tt}" xmlns:ter="{ter}"><env:Body>{{body}}</env:Body></env:Envelope>').format(**NS)
BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;'
                  '&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'
                  '&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
                  '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
                  '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
                  '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
                  '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
                  '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
                  '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&lol9;</env:Body>'
                  '</env:Envelope>')
AUTHLESS = {"GetSystemDateAndTime"}


def fault(subcode: str, text: str, code: str = "env:Sender") -> str:
    return (f"<env:Fault><env:Code><env:Value>{code}</env:Value><env:Subcode><env:Value>{subcode}</env:Value>"
            f"</env:Subcode></env:Code><env:Reason><env:Text xml:lang=\"en\">{text}</env:Text></env:Reason></env:Fault>")


class OnvifDevice:
    def __init__(self, rtsp_uri: str, user: str = "admin", password: str = "onvif#p@ss") -> None:
        self.port = free_port()
        self.rtsp_uri, self.user, self.password = rtsp_uri, user, password
        self.clock_offset_s = 0.0
        self.ntp = True
        self.fail_auth = False
        self.not_supported: set[str] = set()
        self.slow_s = 0.0
        self.malformed = False
        self.entity_attack = False
        self.serial = "DS-2CD1023-0001"
        self.firmware = "V5.5.82 build 190909"
        self.requests: list[str] = []
        self.uuid = uuid.uuid4()
        self.recording: str | None = "recent"  # "recent", "stale" (stopped 2 h ago), None (no Profile G)
        self.snapshot_auth = "digest"  # or "basic"
        self.snapshot_scene = "live"  # or "frozen", "black"
        self._frame: Any = None
        self._frozen_jpeg: bytes | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def xaddr(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/device_service"

    def start(self) -> OnvifDevice:
        self.thread.start()
        self.discovery = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.discovery.bind(("127.0.0.1", 0))  # unicast only: nothing is multicast from the tests
        self.discovery_port = self.discovery.getsockname()[1]
        threading.Thread(target=self._answer_probes, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.discovery.close()

    def _answer_probes(self) -> None:
        """WS-Discovery: answer a Probe for an ONVIF NetworkVideoTransmitter with a ProbeMatch."""
        while True:
            try:
                data, peer = self.discovery.recvfrom(65536)
            except OSError:
                return
            try:
                doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
            except etree.XMLSyntaxError:
                continue
            msg_id = doc.findtext(".//{http://schemas.xmlsoap.org/ws/2004/08/addressing}MessageID") or ""
            if doc.find(".//{http://schemas.xmlsoap.org/ws/2005/04/discovery}Probe") is None:
                continue
            reply = (
                '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
                'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
                f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID><a:RelatesTo>{msg_id}</a:RelatesTo>"
                "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
                "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>"
                '<d:AppSequence InstanceId="1" MessageNumber="1"/></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>'
                f"<a:EndpointReference><a:Address>urn:uuid:{self.uuid}</a:Address></a:EndpointReference>"
                "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
                "<d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/HIKVISION "
                "onvif://www.onvif.org/hardware/DS-2CD1023G0-IU onvif://www.onvif.org/location/city/hangzhou</d:Scopes>"
                f"<d:XAddrs>{self.xaddr}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>"
                "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>")
            self.discovery.sendto(reply.encode(), peer)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.clock_offset_s)

    # ------------------------------------------------------------ SOAP
    def answer(self, body: bytes) -> tuple[int, str]:
        if self.entity_attack:
            return 200, BILLION_LAUGHS
        if self.malformed:
            return 200, "<env:Envelope><env:Body><tds:GetSystemDateAndTimeResponse>"
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        doc = etree.fromstring(body, parser)
        op = etree.QName(doc.find("env:Body", NS)[0]).localname
        self.requests.append(op)
        if op not in AUTHLESS and not self._authorized(doc):
            return 400, ENVELOPE.format(body=fault("ter:NotAuthorized", "Sender not Authorized"))
        if op in self.not_supported:
            return 400, ENVELOPE.format(body=fault("ter:ActionNotSupported", "Optional Action Not Implemented",
                                                   "env:Receiver"))
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            return 400, ENVELOPE.format(body=fault("ter:ActionNotSupported", f"{op} not implemented", "env:Receiver"))
        return 200, ENVELOPE.format(body=handler())

    def _authorized(self, doc: Any) -> bool:
        if self.fail_auth:
            return False
        tok = doc.find("env:Header/wsse:Security/wsse:UsernameToken", NS)
        if tok is None:
            return False
        user = tok.findtext("wsse:Username", namespaces=NS)
        digest = tok.findtext("wsse:Password", namespaces=NS) or ""
        nonce = base64.b64decode(tok.findtext("wsse:Nonce", namespaces=NS) or "")
        created = tok.findtext("wsu:Created", namespaces=NS) or ""
        # WS-Security UsernameToken PasswordDigest is defined with SHA-1
        sha1 = hashlib.sha1(nonce + created.encode() + self.password.encode(), usedforsecurity=False)
        expected = base64.b64encode(sha1.digest()).decode()
        try:
            when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            return False
        fresh = abs((when - self.now()).total_seconds()) < 300  # like cameras: a stale Created is refused
        return user == self.user and digest == expected and fresh

    def op_GetSystemDateAndTime(self) -> str:
        n = self.now()
        return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
                f"<tt:DateTimeType>{'NTP' if self.ntp else 'Manual'}</tt:DateTimeType>"
                "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>ICT-7</tt:TZ></tt:TimeZone>"
                f"<tt:UTCDateTime><tt:Time><tt:Hour>{n.hour}</tt:Hour><tt:Minute>{n.minute}</tt:Minute>"
                f"<tt:Second>{n.second}</tt:Second></tt:Time><tt:Date><tt:Year>{n.year}</tt:Year>"
                f"<tt:Month>{n.month}</tt:Month><tt:Day>{n.day}</tt:Day></tt:Date></tt:UTCDateTime>"
                "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")

    def op_GetDeviceInformation(self) -> str:
        return ("<tds:GetDeviceInformationResponse><tds:Manufacturer>HIKVISION</tds:Manufacturer>"
                "<tds:Model>DS-2CD1023G0-IU</tds:Model>"
                f"<tds:FirmwareVersion>{self.firmware}</tds:FirmwareVersion><tds:SerialNumber>{self.serial}"
                "</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId></tds:GetDeviceInformationResponse>")

    def op_GetServices(self) -> str:
        base = f"http://127.0.0.1:{self.port}/onvif"
        services = [("http://www.onvif.org/ver10/device/wsdl", f"{base}/device_service"),
                    ("http://www.onvif.org/ver10/media/wsdl", f"{base}/Media")]
        if self.recording is not None:
            services.append(("http://www.onvif.org/ver10/search/wsdl", f"{base}/SearchRecording"))
        return "<tds:GetServicesResponse>" + "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{x}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
            for ns, x in services) + "</tds:GetServicesResponse>"

    def op_GetCapabilities(self) -> str:
        base = f"http://127.0.0.1:{self.port}/onvif"
        return (f"<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media><tt:XAddr>{base}/Media</tt:XAddr>"
                "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
                "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
                "</tds:Capabilities></tds:GetCapabilitiesResponse>")

    def op_GetProfiles(self) -> str:
        def profile(token: str, name: str, w: int, h: int, enc: str = "H264") -> str:
            return (f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
                    f'<tt:VideoEncoderConfiguration token="VE_{token}"><tt:Name>VE_{token}</tt:Name>'
                    f"<tt:UseCount>1</tt:UseCount><tt:Encoding>{enc}</tt:Encoding><tt:Resolution><tt:Width>{w}"
                    f"</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution><tt:Quality>4</tt:Quality>"
                    "<tt:RateControl><tt:FrameRateLimit>10</tt:FrameRateLimit><tt:EncodingInterval>1"
                    "</tt:EncodingInterval><tt:BitrateLimit>512</tt:BitrateLimit></tt:RateControl>"
                    "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>"
                    "</tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
                    "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>"
                    "</trt:Profiles>")

        return ("<trt:GetProfilesResponse>" + profile("Profile_1", "mainStream", 1920, 1080)
                + profile("Profile_2", "subStream", 640, 360) + profile("Profile_3", "mjpeg", 320, 240, "JPEG")
                + "</trt:GetProfilesResponse>")

    def op_GetRecordingSummary(self) -> str:
        if self.recording is None:
            raise KeyError("no search service")
        until = self.now() - dt.timedelta(seconds=5 if self.recording == "recent" else 7200)
        start = until - dt.timedelta(days=20)
        return ('<tse:GetRecordingSummaryResponse xmlns:tse="http://www.onvif.org/ver10/search/wsdl"><tse:Summary>'
                f"<tt:DataFrom>{start:%Y-%m-%dT%H:%M:%SZ}</tt:DataFrom><tt:DataUntil>{until:%Y-%m-%dT%H:%M:%SZ}"
                "</tt:DataUntil><tt:NumberRecordings>1</tt:NumberRecordings></tse:Summary>"
                "</tse:GetRecordingSummaryResponse>")

    def _media_uri(self, tag: str, uri: str) -> str:
        return (f"<trt:{tag}Response><trt:MediaUri><tt:Uri>{uri}</tt:Uri>"
                "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false"
                f"</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{tag}Response>")

    def op_GetStreamUri(self) -> str:
        return self._media_uri("GetStreamUri", self.rtsp_uri)

    def op_GetSnapshotUri(self) -> str:
        return self._media_uri("GetSnapshotUri", f"http://127.0.0.1:{self.port}/snapshot.jpg")

    # ------------------------------------------------------------ HTTP snapshot (digest or basic auth)
    def snapshot(self) -> bytes:
        import cv2
        import numpy as np

        from camwatch.sim.scenes import scene_frames

        if self._frame is None:
            self._frame = next(scene_frames("day", seconds=1))
        if self.snapshot_scene == "black":
            img = np.full_like(self._frame, 10)
        elif self.snapshot_scene == "frozen":
            if self._frozen_jpeg is None:
                self._frozen_jpeg = cv2.imencode(".jpg", self._frame)[1].tobytes()
            return self._frozen_jpeg
        else:  # a live sensor: new noise every time
            noise = np.random.default_rng().normal(0, 3, self._frame.shape[:2])[..., None]
            img = np.clip(self._frame + noise, 0, 255).astype(np.uint8)
        return cv2.imencode(".jpg", img)[1].tobytes()

    def snapshot_authorized(self, header: str, path: str) -> bool:
        if self.snapshot_auth == "basic":
            good = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return header == good
        if not header.startswith("Digest "):
            return False
        import re

        f = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))

        def md5(x: str) -> str:
            return hashlib.md5(x.encode(), usedforsecurity=False).hexdigest()

        ha1 = md5(f"{self.user}:camwatch-test:{self.password}")
        ha2 = md5(f"GET:{f.get('uri', '')}")
        expected = md5(f"{ha1}:{f.get('nonce')}:{f.get('nc')}:{f.get('cnonce')}:{f.get('qop')}:{ha2}")
        return f.get("username") == self.user and f.get("uri") == path and f.get("response") == expected

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        device = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if device.slow_s:
                    time.sleep(device.slow_s)
                try:
                    status, text = device.answer(body)
                except etree.XMLSyntaxError:
                    status, text = 400, ENVELOPE.format(body=fault("ter:InvalidArgs", "bad XML"))
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def do_GET(self) -> None:
                if self.path != "/snapshot.jpg":
                    self.send_error(404)
                    return
                if not device.snapshot_authorized(self.headers.get("Authorization", ""), self.path):
                    self.send_response(401)
                    if device.snapshot_auth == "basic":
                        self.send_header("WWW-Authenticate", 'Basic realm="camwatch-test"')
                    else:
                        self.send_header("WWW-Authenticate",
                                         'Digest realm="camwatch-test", nonce="4e6f6e6365", qop="auth", algorithm=MD5')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = device.snapshot()
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
