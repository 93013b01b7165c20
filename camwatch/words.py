"""The one glossary: verdicts in Vietnamese and English, and how durations, percentages and dates are written.

Used by the CLI, the emails, the report and the metrics' help, so that a fault has one name everywhere.
Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")

# verdict → (headline, what is wrong, what to check first), per language: what an email says
VERDICTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "vi": {
        "offline": ("MẤT TÍN HIỆU", "Không kết nối được tới camera.",
                    "Kiểm tra nguồn điện của camera và thiết bị mạng (bộ chuyển đổi quang, switch, router 4G), dây cáp."),
        "timeout": ("KHÔNG PHẢN HỒI", "Camera nhận kết nối nhưng không trả lời.",
                    "Khởi động lại camera (tắt nguồn 10 giây rồi bật lại); kiểm tra đường truyền có chập chờn không."),
        "auth_failed": ("SAI MẬT KHẨU", "Camera từ chối tên đăng nhập hoặc mật khẩu.",
                        "Kiểm tra xem mật khẩu camera có bị đổi, hoặc camera có bị cài đặt lại về mặc định không."),
        "not_found": ("SAI ĐƯỜNG DẪN", "Camera không có luồng video ở địa chỉ đã cấu hình.",
                      "Kiểm tra cấu hình luồng phụ (sub-stream) của camera; camera có bị thay hoặc cài lại không."),
        "protocol_error": ("LỖI GIAO TIẾP", "Camera trả lời không đúng chuẩn RTSP.",
                           "Khởi động lại camera; kiểm tra địa chỉ IP có bị trùng với thiết bị khác không."),
        "no_video": ("KHÔNG CÓ HÌNH", "Camera kết nối được nhưng không gửi hình.",
                     "Khởi động lại camera; kiểm tra cấu hình mã hóa video (H.264/H.265)."),
        "black": ("MÀN HÌNH ĐEN", "Hình ảnh hoàn toàn đen.",
                  "Kiểm tra ống kính có bị che/đậy không, đèn hồng ngoại ban đêm có sáng không, dây tín hiệu."),
        "frozen": ("HÌNH BỊ ĐỨNG", "Hình ảnh không thay đổi: camera bị treo.",
                   "Khởi động lại camera (tắt nguồn 10 giây rồi bật lại)."),
        "covered": ("ỐNG KÍNH BỊ CHE", "Hình ảnh gần như không còn chi tiết: ống kính bị che hoặc bám bẩn.",
                    "Kiểm tra và lau ống kính, vòm che; gỡ vật che (túi, vải, sơn, mạng nhện)."),
        "blurred": ("HÌNH BỊ MỜ", "Hình ảnh mờ hơn nhiều so với bình thường.",
                    "Lau ống kính và vòm che; chỉnh lại tiêu cự (lấy nét)."),
        "moved": ("CAMERA BỊ LỆCH", "Camera không còn nhìn đúng hướng như trước.",
                  "Kiểm tra giá đỡ, chỉnh lại hướng camera như ban đầu."),
        "clock": ("SAI GIỜ", "Đồng hồ của camera bị sai: bản ghi hình không dùng làm chứng cứ được.",
                  "Cài đặt lại giờ và máy chủ thời gian (NTP) cho camera; kiểm tra pin đồng hồ."),
        "not_recording": ("NGỪNG GHI HÌNH", "Camera không còn ghi hình: không có bản ghi mới.",
                          "Kiểm tra thẻ nhớ/ổ cứng của camera hoặc đầu ghi (đầy, hỏng), lịch ghi hình."),
    },
    "en": {
        "offline": ("OFFLINE", "The camera cannot be reached.",
                    "Check the camera's power and the network equipment (fibre converter, switch, 4G router), cables."),
        "timeout": ("NOT ANSWERING", "The camera accepts connections but does not answer.",
                    "Restart the camera (power off 10 seconds); check whether the link is unstable."),
        "auth_failed": ("WRONG PASSWORD", "The camera refuses the user name or password.",
                        "Check whether the camera's password was changed or the camera was reset to factory settings."),
        "not_found": ("WRONG STREAM PATH", "The camera has no video stream at the configured address.",
                      "Check the camera's sub-stream settings; was the camera replaced or reset?"),
        "protocol_error": ("PROTOCOL ERROR", "The camera does not answer proper RTSP.",
                           "Restart the camera; check that its IP address is not used by another device."),
        "no_video": ("NO VIDEO", "The camera connects but sends no picture.",
                     "Restart the camera; check its video encoding settings (H.264/H.265)."),
        "black": ("BLACK PICTURE", "The picture is completely black.",
                  "Check that the lens is not covered, that the infrared lights work at night, and the video cable."),
        "frozen": ("FROZEN PICTURE", "The picture does not change: the camera has hung.",
                   "Restart the camera (power off 10 seconds)."),
        "covered": ("LENS COVERED", "Almost no detail left in the picture: the lens is covered or dirty.",
                    "Check and clean the lens and dome; remove whatever covers it."),
        "blurred": ("BLURRED", "The picture is much less sharp than normal.",
                    "Clean the lens and dome; refocus the camera."),
        "moved": ("CAMERA MOVED", "The camera no longer looks where it used to.",
                  "Check the mounting and turn the camera back to its view."),
        "clock": ("WRONG CLOCK", "The camera's clock is wrong: its recordings cannot serve as evidence.",
                  "Set the camera's time and time server (NTP); check its clock battery."),
        "not_recording": ("NOT RECORDING", "The camera has stopped recording: no new recording.",
                          "Check the camera's SD card or the recorder's disk (full, failed) and the recording schedule."),
    },
}

# verdict → its short name in a table (report, CLI)
NAMES: dict[str, dict[str, str]] = {
    "vi": {"ok": "bình thường", "offline": "mất kết nối", "timeout": "không phản hồi", "auth_failed": "sai mật khẩu",
           "not_found": "sai đường dẫn", "protocol_error": "lỗi giao tiếp", "no_video": "không có hình",
           "black": "màn hình đen", "frozen": "hình bị đứng", "covered": "bị che", "blurred": "bị mờ",
           "moved": "bị lệch", "clock": "sai giờ", "not_recording": "ngừng ghi hình"},
}


# a camera's status (`health.Status`) as the dashboard and the web pages show it
STATUSES: dict[str, dict[str, str]] = {
    "vi": {"down": "Mất hình", "degraded": "Kém chất lượng", "maintenance": "Bảo trì", "unknown": "Chưa rõ",
           "ok": "Bình thường"},
    "en": {"down": "Down", "degraded": "Degraded", "maintenance": "Maintenance", "unknown": "Unknown", "ok": "OK"},
}


def status_name(status: str, lang: str) -> str:
    return STATUSES.get(lang, STATUSES["vi"]).get(status, status)


def verdict_name(verdict: str, lang: str) -> str:
    """The short name of a verdict (English: the verdict itself, as the CLI and metrics print it)."""
    return NAMES.get(lang, {}).get(verdict, verdict)


def verdict_text(verdict: str, lang: str) -> tuple[str, str, str]:
    """(headline, what is wrong, what to check first) for an email."""
    table = VERDICTS.get(lang, VERDICTS["vi"])
    return table.get(verdict, table["offline"])


def duration(seconds: float, lang: str) -> str:
    """A duration in words for a person: "1 giờ 5 phút", "2 d 3 h"."""
    m = int(seconds // 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    units = ("ngày", "giờ", "phút") if lang == "vi" else ("d", "h", "min")
    parts = [f"{d} {units[0]}" if d else "", f"{h} {units[1]}" if h else "", f"{m} {units[2]}" if m or not (d or h) else ""]
    return " ".join(p for p in parts if p)


def duration_short(seconds: float) -> str:
    """A duration for a table column: 3d04h, 2h05m, 4m09s."""
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d{s % 86400 // 3600:02d}h"
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def hours(seconds: float, lang: str) -> str:
    """Hours with one decimal, with the decimal comma in Vietnamese."""
    v = f"{seconds / 3600:.1f}"
    return v.replace(".", ",") if lang == "vi" else v


def pct(ratio: float | None, lang: str) -> str:
    """A ratio (0–1) as a percentage: "99,5 %" in Vietnamese, "99.5%" in English, "–" when unknown."""
    if ratio is None:
        return "–"
    s = f"{100 * ratio:.1f} %"
    return s.replace(".", ",") if lang == "vi" else s.replace(" %", "%")


def date(d: dt.datetime | dt.date, tz: ZoneInfo, with_time: bool = False) -> str:
    """A day (and time) in the district's time zone, the Vietnamese way: 29/11/2026 14:05."""
    if isinstance(d, dt.datetime):
        return d.astimezone(tz).strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")
    return d.strftime("%d/%m/%Y")


def local(at: dt.datetime | str, tz: ZoneInfo, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """A moment (a datetime or an ISO string) in the district's time zone."""
    when = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(tz).strftime(fmt)


def hms(seconds: float) -> str:
    """A duration to the second for a table, hours not wrapped into days: "38:05:00", "1:49:50"."""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def pct_change(delta: float | None, lang: str) -> str:
    """A change of a percentage, signed: "+1,2 %", "−3,4 %" (a real minus sign), "–" when unknown."""
    if delta is None:
        return "–"
    return ("+" if delta >= 0 else "−") + pct(abs(delta), lang)


def moment(at: dt.datetime, tz: ZoneInfo) -> str:
    """A moment to the second, in the district's time zone: 01/04/2024 10:00:00."""
    return at.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S")


MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


def long_date(d: dt.date, lang: str) -> str:
    """The date line of an administrative document: "ngày 02 tháng 4 năm 2024", "2 April 2024"."""
    if lang == "vi":
        return f"ngày {d.day:02d} tháng {d.month} năm {d.year}"
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def until_today(at: dt.datetime, tz: ZoneInfo, lang: str) -> str:
    """Where the figures of a period that has not ended stop: "đến 14:05 hôm nay", "to 14:05 today"."""
    hm = at.astimezone(tz).strftime("%H:%M")
    return f"đến {hm} hôm nay" if lang == "vi" else f"to {hm} today"


def sort_key(name: str) -> str:
    """Vietnamese names sort by their letters first (Đ after D), tone marks second."""
    base = unicodedata.normalize("NFD", name.replace("Đ", "D\uffff").replace("đ", "d\uffff"))
    return "".join(ch for ch in base if not unicodedata.combining(ch)).casefold() + "\0" + name
