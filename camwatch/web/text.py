"""The web pages' words, Vietnamese first (the glossary of verdicts, statuses and formats is `camwatch.words`)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from camwatch import words

T: dict[str, dict[str, str]] = {
    "vi": {
        "overview": "Tổng quan", "wall": "Màn hình camera", "camera": "Camera", "cameras": "Số camera",
        "commune": "Xã/thị trấn", "all": "Tất cả", "status": "Trạng thái", "filter": "Lọc", "switch": "English",
        "updated": "Cập nhật lúc", "offline": "Mất kết nối tới máy chủ camwatch: số liệu có thể đã cũ",
        "today": "Hôm nay", "d7": "7 ngày", "d30": "30 ngày", "availability": "Tỷ lệ hoạt động",
        "down": "Mất hình", "degraded": "Kém chất lượng", "maintenance": "Bảo trì", "since": "từ",
        "no_picture": "chưa có hình", "login": "đăng nhập để xem hình", "last_good": "Hình tốt cuối cùng",
        "first_bad": "Hình lỗi đầu tiên", "latest": "Hình mới nhất", "facts": "Thông tin thiết bị",
        "model": "Kiểu máy", "manufacturer": "Hãng", "firmware": "Phần mềm (firmware)", "serial": "Số sê-ri",
        "profile": "Luồng video", "clock": "Lệch giờ", "ntp": "đồng bộ NTP", "location": "Vị trí",
        "last_check": "Lần kiểm tra cuối", "checks": "Các lần kiểm tra gần nhất", "time": "Thời điểm",
        "verdict": "Kết quả", "duration": "Thời gian", "took": "Thời gian (s)", "fps": "Khung/giây", "bitrate": "kbit/s",
        "ttff": "Hình đầu (s)", "luma": "Độ sáng", "sharpness": "Độ nét", "incidents": "Sự cố", "kind": "Loại",
        "start": "Bắt đầu", "end": "Kết thúc", "open": "chưa khắc phục", "ack": "Xác nhận", "acked": "đã xác nhận",
        "not_acked": "chưa xác nhận", "ack_button": "Xác nhận đã biết", "pictures": "Hình", "none": "không có",
        "daily": "hằng ngày", "planned": "theo cấu hình", "stored": "theo lệnh", "strip": "Tỷ lệ hoạt động theo ngày",
        "pending": "đang tính", "no_data": "không có số liệu", "not_found": "Không tìm thấy",
        "unknown_camera": "Không có camera này trong cấu hình", "empty": "Không có camera nào phù hợp",
        "district_status": "Trạng thái camera toàn huyện", "communes": "Theo xã/thị trấn", "reason": "Lý do",
        "camera_of": "Camera của", "seconds": "giây", "severity_down": "mất hình", "severity_degraded": "kém chất lượng",
        "forbidden": "Yêu cầu không hợp lệ (mã chống giả mạo sai hoặc thiếu)",
        "ack_unavailable": "Chức năng xác nhận sự cố chưa có trên máy chủ này",
    },
    "en": {
        "overview": "Overview", "wall": "Camera wall", "camera": "Camera", "cameras": "Cameras",
        "commune": "Commune", "all": "All", "status": "Status", "filter": "Filter", "switch": "Tiếng Việt",
        "updated": "Updated at", "offline": "Lost contact with the camwatch server: figures may be out of date",
        "today": "Today", "d7": "7 days", "d30": "30 days", "availability": "Availability",
        "down": "Down", "degraded": "Degraded", "maintenance": "Maintenance", "since": "since",
        "no_picture": "no picture yet", "login": "sign in to see pictures", "last_good": "Last good picture",
        "first_bad": "First bad picture", "latest": "Latest picture", "facts": "Device",
        "model": "Model", "manufacturer": "Manufacturer", "firmware": "Firmware", "serial": "Serial number",
        "profile": "Stream", "clock": "Clock offset", "ntp": "NTP synchronised", "location": "Location",
        "last_check": "Last check", "checks": "Latest checks", "time": "Time",
        "verdict": "Verdict", "duration": "Duration", "took": "Took (s)", "fps": "fps", "bitrate": "kbit/s",
        "ttff": "First frame (s)", "luma": "Brightness", "sharpness": "Sharpness", "incidents": "Incidents",
        "kind": "Kind", "start": "Start", "end": "End", "open": "open", "ack": "Acknowledged", "acked": "acknowledged",
        "not_acked": "not acknowledged", "ack_button": "Acknowledge", "pictures": "Pictures", "none": "none",
        "daily": "daily", "planned": "from the config", "stored": "from the command line", "strip": "Daily availability",
        "pending": "computing", "no_data": "no data", "not_found": "Not found",
        "unknown_camera": "No such camera in the configuration", "empty": "No camera matches",
        "district_status": "Cameras of the district", "communes": "Per commune", "reason": "Reason",
        "camera_of": "Cameras of", "seconds": "s", "severity_down": "down", "severity_degraded": "degraded",
        "forbidden": "Request refused (missing or wrong anti-forgery token)",
        "ack_unavailable": "Acknowledging incidents is not available on this server",
    },
}

LANGS = words.LANGUAGES


class Words:
    """The words and formats of one page, in one language and the district's time zone."""

    def __init__(self, lang: str, tz: ZoneInfo) -> None:
        self.lang = lang if lang in T else "vi"
        self.tz = tz
        self._t = T[self.lang]

    def __getitem__(self, key: str) -> str:
        return self._t[key]

    def status(self, status: str) -> str:
        return words.status_name(status, self.lang)

    def verdict(self, verdict: str | None) -> str:
        return words.verdict_name(verdict, self.lang) if verdict else "–"

    def pct(self, ratio: float | None) -> str:
        return words.pct(ratio, self.lang)

    def moment(self, at: dt.datetime | None) -> str:
        return words.local(at, self.tz, "%H:%M %d/%m/%Y") if at else "–"

    def short(self, at: dt.datetime | None) -> str:
        return words.local(at, self.tz, "%H:%M %d/%m") if at else "–"

    def clock(self, at: dt.datetime) -> str:
        return words.local(at, self.tz, "%H:%M:%S")

    def since(self, at: dt.datetime | None, now: dt.datetime) -> str:
        """"từ 14:05 02/04 (2 giờ 5 phút)"."""
        if at is None:
            return ""
        return f"{self['since']} {self.short(at)} ({words.duration(max(0.0, (now - at).total_seconds()), self.lang)})"

    def duration(self, seconds: float) -> str:
        return words.duration(seconds, self.lang)

    def number(self, v: float | None, digits: int = 1) -> str:
        if v is None:
            return "–"
        s = f"{v:.{digits}f}"
        return s.replace(".", ",") if self.lang == "vi" else s

    def day(self, d: dt.date) -> str:
        return words.date(d, self.tz)
