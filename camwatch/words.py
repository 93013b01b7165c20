"""The one glossary: verdicts in Vietnamese and English, and how durations, percentages and dates are written.

Used by the CLI, the emails, the report and the metrics' help, so that a fault has one name everywhere.
Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")

# verdict → its one name, per language: a table (report, CLI) prints it as is, an email's headline in capitals
NAMES: dict[str, dict[str, str]] = {
    "vi": {"ok": "bình thường", "offline": "mất kết nối", "timeout": "không phản hồi", "auth_failed": "sai mật khẩu",
           "not_found": "sai đường dẫn", "protocol_error": "lỗi giao tiếp", "no_video": "không có hình",
           "black": "màn hình đen", "frozen": "hình bị đứng", "covered": "ống kính bị che", "blurred": "hình bị mờ",
           "moved": "camera bị lệch", "clock": "sai giờ", "not_recording": "ngừng ghi hình",
           "dark": "hình quá tối"},
    "en": {"ok": "ok", "offline": "offline", "timeout": "not answering", "auth_failed": "wrong password",
           "not_found": "wrong stream path", "protocol_error": "protocol error", "no_video": "no video",
           "black": "black picture", "frozen": "frozen picture", "covered": "lens covered", "blurred": "blurred",
           "moved": "camera moved", "clock": "wrong clock", "not_recording": "not recording",
           "dark": "picture too dark"},
}

# verdict → (headline, what is wrong, what to check first), per language: what an email says.
# The headline is filled from NAMES below, so that a fault has one name in every output.
VERDICTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "vi": {
        "offline": ("", "Không kết nối được tới camera.",
                    "Kiểm tra nguồn điện của camera và thiết bị mạng (bộ chuyển đổi quang, switch, router 4G), dây cáp."),
        "timeout": ("", "Camera nhận kết nối nhưng không trả lời.",
                    "Khởi động lại camera (tắt nguồn 10 giây rồi bật lại); kiểm tra đường truyền có chập chờn không."),
        "auth_failed": ("", "Camera từ chối tên đăng nhập hoặc mật khẩu.",
                        "Kiểm tra xem mật khẩu camera có bị đổi, hoặc camera có bị cài đặt lại về mặc định không."),
        "not_found": ("", "Camera không có luồng video ở địa chỉ đã cấu hình.",
                      "Kiểm tra cấu hình luồng phụ (sub-stream) của camera; camera có bị thay hoặc cài lại không."),
        "protocol_error": ("", "Camera trả lời không đúng chuẩn RTSP.",
                           "Khởi động lại camera; kiểm tra địa chỉ IP có bị trùng với thiết bị khác không."),
        "no_video": ("", "Camera kết nối được nhưng không gửi hình.",
                     "Khởi động lại camera; kiểm tra cấu hình mã hóa video (H.264/H.265)."),
        "black": ("", "Hình ảnh hoàn toàn đen.",
                  "Kiểm tra ống kính có bị che/đậy không, đèn hồng ngoại ban đêm có sáng không, dây tín hiệu."),
        "frozen": ("", "Hình ảnh không thay đổi: camera bị treo.",
                   "Khởi động lại camera (tắt nguồn 10 giây rồi bật lại)."),
        "covered": ("", "Hình ảnh gần như không còn chi tiết: ống kính bị che hoặc bám bẩn.",
                    "Kiểm tra và lau ống kính, vòm che; gỡ vật che (túi, vải, sơn, mạng nhện)."),
        "blurred": ("", "Hình ảnh mờ hơn nhiều so với bình thường.",
                    "Lau ống kính và vòm che; chỉnh lại tiêu cự (lấy nét)."),
        "moved": ("", "Camera không còn nhìn đúng hướng như trước.",
                  "Kiểm tra giá đỡ, chỉnh lại hướng camera như ban đầu."),
        "dark": ("", "Camera vẫn gửi hình nhưng hình quá tối: đèn hồng ngoại hoặc nguồn sáng bị hỏng.",
                 "Kiểm tra đèn hồng ngoại, nguồn sáng (đèn đường) và chế độ ngày/đêm của camera."),
        "clock": ("", "Đồng hồ của camera bị sai: bản ghi hình không dùng làm chứng cứ được.",
                  "Cài đặt lại giờ và máy chủ thời gian (NTP) cho camera; kiểm tra pin đồng hồ."),
        "not_recording": ("", "Camera không còn ghi hình: không có bản ghi mới.",
                          "Kiểm tra thẻ nhớ/ổ cứng của camera hoặc đầu ghi (đầy, hỏng), lịch ghi hình."),
    },
    "en": {
        "offline": ("", "The camera cannot be reached.",
                    "Check the camera's power and the network equipment (fibre converter, switch, 4G router), cables."),
        "timeout": ("", "The camera accepts connections but does not answer.",
                    "Restart the camera (power off 10 seconds); check whether the link is unstable."),
        "auth_failed": ("", "The camera refuses the user name or password.",
                        "Check whether the camera's password was changed or the camera was reset to factory settings."),
        "not_found": ("", "The camera has no video stream at the configured address.",
                      "Check the camera's sub-stream settings; was the camera replaced or reset?"),
        "protocol_error": ("", "The camera does not answer proper RTSP.",
                           "Restart the camera; check that its IP address is not used by another device."),
        "no_video": ("", "The camera connects but sends no picture.",
                     "Restart the camera; check its video encoding settings (H.264/H.265)."),
        "black": ("", "The picture is completely black.",
                  "Check that the lens is not covered, that the infrared lights work at night, and the video cable."),
        "frozen": ("", "The picture does not change: the camera has hung.",
                   "Restart the camera (power off 10 seconds)."),
        "covered": ("", "Almost no detail left in the picture: the lens is covered or dirty.",
                    "Check and clean the lens and dome; remove whatever covers it."),
        "blurred": ("", "The picture is much less sharp than normal.",
                    "Clean the lens and dome; refocus the camera."),
        "moved": ("", "The camera no longer looks where it used to.",
                  "Check the mounting and turn the camera back to its view."),
        "dark": ("", "The camera sends a live picture, but far too dark: its infrared lights or the "
                 "light failed.", "Check the infrared illuminator, the light source (street lamp) and the camera's "
                 "day/night mode."),
        "clock": ("", "The camera's clock is wrong: its recordings cannot serve as evidence.",
                  "Set the camera's time and time server (NTP); check its clock battery."),
        "not_recording": ("", "The camera has stopped recording: no new recording.",
                          "Check the camera's SD card or the recorder's disk (full, failed) and the recording schedule."),
    },
}

VERDICTS = {lang: {v: (NAMES[lang][v].upper(), what, check) for v, (_, what, check) in table.items()}
            for lang, table in VERDICTS.items()}


# a camera's status (`health.Status`) as the dashboard and the web pages show it
STATUSES: dict[str, dict[str, str]] = {
    "vi": {"down": "Mất hình", "degraded": "Kém chất lượng", "maintenance": "Bảo trì", "unknown": "Chưa rõ",
           "ok": "Bình thường"},
    "en": {"down": "Down", "degraded": "Degraded", "maintenance": "Maintenance", "unknown": "Unknown", "ok": "OK"},
}


def status_name(status: str, lang: str) -> str:
    return STATUSES.get(lang, STATUSES["vi"]).get(status, status)


def verdict_name(verdict: str, lang: str) -> str:
    """The one name of a verdict in a language (an unknown verdict: its id)."""
    return NAMES.get(lang, NAMES["vi"]).get(verdict, verdict)


def verdict_text(verdict: str, lang: str) -> tuple[str, str, str]:
    """(headline, what is wrong, what to check first) for an email."""
    table = VERDICTS.get(lang, VERDICTS["vi"])
    return table.get(verdict, table["offline"])


def duration(seconds: float, lang: str) -> str:
    """A duration in words for a person: "dưới 1 phút", "1 giờ 5 phút", "2 ngày 3 giờ"; "under 1 min", "1 h 5 min"."""
    if seconds < 60:
        return "dưới 1 phút" if lang == "vi" else "under 1 min"
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


# What a check tried and what came of it, from a probe's reason (the probes write one closed set of English
# phrasings, see probe/rtsp.py and probe/snapshot.py): marker in the reason → (Vietnamese, English).
ATTEMPTS: tuple[tuple[str, str, str], ...] = (
    ("connection refused", "bị từ chối kết nối: địa chỉ có trả lời nhưng cổng của camera không mở",
     "connection refused: the address answers but the camera's port is closed"),
    ("cannot be resolved", "không tìm được địa chỉ của tên máy", "the host name cannot be resolved"),
    ("cannot be reached", "không tới được địa chỉ: không có đường mạng tới camera",
     "the address cannot be reached: no network path to the camera"),
    ("did not send its snapshot", "camera nhận kết nối nhưng không gửi ảnh kịp thời hạn",
     "the camera accepted the connection but sent no picture in time"),
    ("no answer", "không có trả lời trong thời hạn", "no answer within the deadline"),
    ("no snapshot within", "không có trả lời trong thời hạn", "no answer within the deadline"),
    ("user name or password", "camera từ chối tên đăng nhập hoặc mật khẩu (lỗi 401)",
     "the camera refused the user name or password (401)"),
    ("no stream at this path", "camera không có luồng hình ở đường dẫn này (lỗi 404)",
     "the camera has no stream at this path (404)"),
    ("no snapshot at this address", "camera không có ảnh ở đường dẫn này (lỗi 404)",
     "the camera has no picture at this address (404)"),
    ("RTSP error", "camera trả lời bằng một mã lỗi RTSP", "the camera answered with an RTSP error"),
    ("not valid RTSP", "camera trả lời không đúng chuẩn RTSP", "the camera's answer is not valid RTSP"),
    ("answered HTTP", "camera trả lời bằng một mã lỗi HTTP", "the camera answered with an HTTP error"),
    ("corrupt", "dữ liệu hình nhận được bị hỏng", "the video data received is corrupt"),
    ("not a valid image", "ảnh nhận được bị hỏng", "the picture received is corrupt"),
    ("no video", "luồng không có hình", "the stream carries no video"),
)

PROTOCOLS = {"vi": {"rtsp": "kết nối RTSP (luồng hình)", "snapshot": "tải ảnh qua HTTP"},
             "en": {"rtsp": "an RTSP connection (the video stream)", "snapshot": "an HTTP picture download"}}


def attempt(reason: str, verdict: str, lang: str) -> str:
    """What came of the check's attempt, in words of `lang` (the probe's English reason is never shown in
    Vietnamese): "bị từ chối kết nối…", "no answer within the deadline"."""
    low = reason.lower()
    for marker, vi, en in ATTEMPTS:
        if marker.lower() in low:
            return vi if lang == "vi" else en
    return verdict_text(verdict, lang)[1].rstrip(".")


# the pictures an email carries: role → (file name, caption), per language
PICTURES: dict[str, dict[str, tuple[str, str]]] = {
    "vi": {"last_good": ("anh-tot-gan-nhat.jpg", "Ảnh tốt gần nhất"),
           "first_bad": ("anh-luc-phat-hien-su-co.jpg", "Ảnh lúc phát hiện sự cố"),
           "latest": ("anh-moi-nhat.jpg", "Ảnh mới nhất")},
    "en": {"last_good": ("last-good.jpg", "Last good picture"),
           "first_bad": ("first-bad.jpg", "Picture when the problem was found"),
           "latest": ("latest.jpg", "Latest picture")},
}


def picture(role: str, lang: str) -> tuple[str, str]:
    """(file name, caption) of a picture by what it is: last good, first bad, latest."""
    return PICTURES.get(lang, PICTURES["vi"])[role]


def sort_key(name: str) -> str:
    """Vietnamese names sort by their letters first (Đ after D), tone marks second."""
    base = unicodedata.normalize("NFD", name.replace("Đ", "D\uffff").replace("đ", "d\uffff"))
    return "".join(ch for ch in base if not unicodedata.combining(ch)).casefold() + "\0" + name
