"""The sentences of the emails, per language. Fault names, durations and picture names come from
`camwatch.words` (the one glossary); this is the rest of an email's text. Every Vietnamese sentence is
Vietnamese: `tests/test_glossary.py` checks that no English word slips in."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "vi": {"since": "từ", "camera": "Camera", "commune": "Xã/thị trấn", "location": "Vị trí", "problem": "Tình trạng",
           "problem_was": "Sự cố đã gặp", "check": "Cần kiểm tra trước", "started": "Bắt đầu", "map": "Bản đồ",
           "dashboard": "Theo dõi", "recovered": "ĐÃ HOẠT ĐỘNG LẠI", "duration": "Thời gian gián đoạn",
           "ended": "Hoạt động lại lúc", "still": "VẪN CHƯA KHẮC PHỤC", "escalated": "CHUYỂN ĐỘI KỸ THUẬT HUYỆN",
           "group": "NHIỀU CAMERA CÙNG GẶP SỰ CỐ", "group_all": "TẤT CẢ CAMERA CỦA XÃ GẶP SỰ CỐ",
           "group_body": "{n} camera của {commune} gặp sự cố cùng lúc: có thể do mất điện hoặc hỏng đường truyền/bộ định "
                         "tuyến của xã, không phải do từng camera.",
           "group_all_body": "Cả {n} camera của {commune} gặp sự cố cùng lúc: có thể do mất điện hoặc hỏng đường "
                             "truyền/bộ định tuyến của xã, không phải do từng camera.",
           "group_check": "Kiểm tra nguồn điện và thiết bị mạng chung của xã trước (bộ định tuyến, bộ chuyển đổi quang, "
                          "tủ điện).",
           "group_recovered": "CÁC CAMERA ĐÃ HOẠT ĐỘNG LẠI", "flapping": "CHẬP CHỜN",
           "flapping_body": "Camera gặp sự cố rồi hoạt động lại {n} lần trong một giờ. Sẽ không gửi thêm thư về camera "
                            "này cho tới khi nó ổn định liên tục {stable}; khi đó sẽ có một thư tổng hợp.",
           "flapping_check": "Kiểm tra nguồn điện (ổn áp, tiếp xúc), dây mạng và đầu nối.",
           "steady": "ĐÃ ỔN ĐỊNH LẠI", "steady_body": "Camera đã hết chập chờn: không thay đổi trạng thái trong {stable}.",
           "unstable_period": "Thời gian chập chờn", "outages": "Số lần gián đoạn",
           "outages_value": "{n} lần, tổng cộng {total}", "now_state": "Hiện tại",
           "test": "Thư thử nghiệm",
           "test_body": "camwatch gửi thư này để kiểm tra cấu hình máy chủ thư. Không cần làm gì.",
           "reason": "Chi tiết kỹ thuật", "open_for": "Đã kéo dài", "tried": "Đã thử", "to": "tới",
           "attached": "Ảnh đính kèm", "taken_at": "chụp lúc", "file": "tệp",
           "no_good_picture": "Chưa có ảnh tốt nào của camera này để so sánh.",
           "no_bad_picture": "Không có ảnh lúc sự cố: camera không gửi hình.",
           "acknowledged": "Đã nhận xử lý", "muted": "Tạm ngừng báo", "until": "đến", "incident_id": "Mã sự cố",
           "upstream": "MẤT KẾT NỐI THIẾT BỊ MẠNG CỦA XÃ",
           "upstream_body": "Thiết bị mạng của xã ({device}) không trả lời: {n} camera phía sau nó không kết nối được.",
           "digest": "Tổng hợp ngày", "digest_body": "{open} trên {total} camera đang có sự cố chưa khắc phục.",
           "storage": "Ổ ĐĨA MÁY CHỦ GIÁM SÁT SẮP ĐẦY",
           "storage_body": "Thư mục dữ liệu {dir} chỉ còn trống {free}. Đã ngừng lưu ảnh chụp để dành chỗ cho kết quả "
                           "kiểm tra và sự cố; việc giám sát camera vẫn tiếp tục.",
           "storage_check": "Giải phóng dung lượng hoặc mở rộng ổ đĩa của máy chủ; ảnh sẽ được lưu lại khi có đủ chỗ.",
           "storage_at": "Lúc"},
    "en": {"since": "since", "camera": "Camera", "commune": "Commune", "location": "Location", "problem": "Problem",
           "problem_was": "Problem was", "check": "Check first", "started": "Started", "map": "Map",
           "dashboard": "Dashboard", "recovered": "RECOVERED", "duration": "Outage lasted", "ended": "Back at",
           "still": "STILL NOT REPAIRED", "escalated": "ESCALATED TO THE DISTRICT TEAM",
           "group": "SEVERAL CAMERAS DOWN", "group_all": "EVERY CAMERA OF THE COMMUNE DOWN",
           "group_body": "{n} cameras of {commune} went down together: likely a power cut or the commune's "
                         "network/router, not the cameras themselves.",
           "group_all_body": "All {n} cameras of {commune} went down together: likely a power cut or the commune's "
                             "network/router, not the cameras themselves.",
           "group_check": "Check the commune's power and shared network equipment first (router, fibre converter, "
                          "cabinet).",
           "group_recovered": "CAMERAS RECOVERED", "flapping": "UNSTABLE",
           "flapping_body": "The camera went down and came back {n} times within an hour. No further email about it "
                            "until it has been stable for {stable}; then one summary.",
           "flapping_check": "Check the power supply (connections, voltage), the network cable and connectors.",
           "steady": "STABLE AGAIN", "steady_body": "The camera is no longer unstable: no change of state for {stable}.",
           "unstable_period": "Unstable period", "outages": "Outages",
           "outages_value": "{n}, {total} in all", "now_state": "Now",
           "test": "Test email",
           "test_body": "camwatch sent this email to check the mail server settings. Nothing to do.",
           "reason": "Technical detail", "open_for": "Open for", "tried": "Tried", "to": "to",
           "attached": "Pictures", "taken_at": "taken at", "file": "file",
           "no_good_picture": "No good picture of this camera yet to compare with.",
           "no_bad_picture": "No picture of the problem: the camera sends no picture.",
           "acknowledged": "Acknowledged", "muted": "Muted", "until": "until", "incident_id": "Incident",
           "upstream": "COMMUNE NETWORK DEVICE UNREACHABLE",
           "upstream_body": "The commune's network device ({device}) does not answer: {n} cameras behind it are down.",
           "digest": "Daily summary", "digest_body": "{open} of {total} cameras have an open problem.",
           "storage": "MONITORING SERVER DISK NEARLY FULL",
           "storage_body": "The state directory {dir} has only {free} free. Pictures are no longer saved, to keep room "
                           "for check results and incidents; the cameras are still monitored.",
           "storage_check": "Free some space or enlarge the server's disk; pictures are saved again once there is room.",
           "storage_at": "At"},
}
