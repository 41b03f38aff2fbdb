import Hummingbird

/// The portal's words in English and Russian. A page takes the language from the
/// `intake_lang` cookie (set by the switch in the header), else the first of `ru`/`en` in
/// `Accept-Language`, else English. Templates get the table as `t`, so `{{t.signIn}}`.
enum PortalLanguage: String, Sendable, CaseIterable {
    case en, ru

    static func chosen(_ request: Request) -> PortalLanguage {
        if let cookie = request.cookies[PortalSessions.languageCookie]?.value, let language = PortalLanguage(rawValue: cookie) { return language }
        let accepted = (request.headers[.acceptLanguage] ?? "").lowercased().split(separator: ",").map {
            $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        }
        for tag in accepted {
            if tag.hasPrefix("ru") { return .ru }
            if tag.hasPrefix("en") { return .en }
        }
        return .en
    }

    var text: [String: String] { self == .ru ? Self.russian : Self.english }

    static let english: [String: String] = [
        "title": "Intake", "signIn": "Sign in", "signOut": "Sign out", "email": "Email", "password": "Password",
        "badCredentials": "The email or password is wrong.", "tooMany": "Too many failed attempts. Try again in %d minutes.",
        "imports": "Imports", "upload": "Upload", "template": "Template", "customers": "Customers", "operator": "Operator view",
        "file": "File", "received": "Received", "via": "Via", "status": "Status", "created": "Created", "updated": "Updated",
        "unchanged": "Unchanged", "rejected": "Rejected", "skipped": "Skipped", "rowsRead": "Rows read", "noImports": "No files yet.",
        "running": "Importing now", "rowsSoFar": "rows so far", "refresh": "Refresh", "waiting": "Waiting in the inbox",
        "detail": "Import", "result": "Result workbook", "original": "Original file", "firstRejected": "First rejected rows",
        "row": "Row", "reason": "Reason", "runForReal": "Run it for real", "dryRun": "check only", "mode": "Mode", "error": "Error",
        "note": "Note", "uploadTitle": "Send a file", "checkOnly": "Check only: nothing is changed, the result says what would be",
        "send": "Send", "dropHere": "Drop a CSV or XLSX file here, or choose one", "limit": "Files up to %@.",
        "uploaded": "Received %@. It appears below when the watcher takes it.", "templateTitle": "Template",
        "templateText": "Fill in the template and send it back. Dates as 2018-01-01 00:11:22. The Columns sheet explains each column.",
        "templateXLSX": "Template workbook (XLSX)", "templateCSV": "Template (CSV)", "lookup": "Find a customer", "externalID": "external_id",
        "find": "Find", "notFound": "No customer with this external_id.", "history": "History", "at": "When", "action": "Action",
        "values": "Values", "partner": "Partner", "partners": "Partners", "backlog": "Files waiting", "version": "Version",
        "uptime": "Up for", "recent": "Recent imports", "problems": "Refused and failed files", "none": "None.",
        "forbidden": "This page is not there.", "csrf": "The form expired. Go back, reload the page and send it again.",
        "language": "Язык: русский", "otherLanguage": "ru", "sftp": "SFTP", "browser": "browser", "api": "API",
        "completed": "completed", "checked": "checked", "duplicate": "duplicate", "statusRejected": "rejected", "statusRunning": "running",
        "tooLarge": "The file is too large: the limit is %@.", "uploadFailed": "The file was not accepted: %@",
        "signedInAs": "Signed in as", "download": "Download", "seconds": "s",
        "busy": "Intake is busy writing a large file. Try again in a few seconds.",
        "failed": "Something failed inside Intake. The log has the details under request id %@.",
    ]

    static let russian: [String: String] = [
        "title": "Intake", "signIn": "Войти", "signOut": "Выйти", "email": "Эл. почта", "password": "Пароль",
        "badCredentials": "Неверная почта или пароль.", "tooMany": "Слишком много неудачных попыток. Повторите через %d мин.",
        "imports": "Загрузки", "upload": "Отправить файл", "template": "Шаблон", "customers": "Клиенты", "operator": "Оператор",
        "file": "Файл", "received": "Получен", "via": "Канал", "status": "Статус", "created": "Создано", "updated": "Обновлено",
        "unchanged": "Без изменений", "rejected": "Отклонено", "skipped": "Пропущено", "rowsRead": "Прочитано строк", "noImports": "Файлов пока нет.",
        "running": "Сейчас загружается", "rowsSoFar": "строк прочитано", "refresh": "Обновить", "waiting": "Ждут во входящих",
        "detail": "Загрузка", "result": "Файл результата", "original": "Исходный файл", "firstRejected": "Первые отклонённые строки",
        "row": "Строка", "reason": "Причина", "runForReal": "Загрузить по-настоящему", "dryRun": "только проверка", "mode": "Режим", "error": "Ошибка",
        "note": "Примечание", "uploadTitle": "Отправить файл", "checkOnly": "Только проверить: ничего не меняется, результат покажет, что было бы",
        "send": "Отправить", "dropHere": "Перетащите сюда файл CSV или XLSX или выберите его", "limit": "Файлы до %@.",
        "uploaded": "Файл %@ получен. Он появится ниже, когда его возьмут в работу.", "templateTitle": "Шаблон",
        "templateText": "Заполните шаблон и отправьте обратно. Даты в виде 2018-01-01 00:11:22. Лист Columns описывает каждый столбец.",
        "templateXLSX": "Шаблон (XLSX)", "templateCSV": "Шаблон (CSV)", "lookup": "Найти клиента", "externalID": "external_id",
        "find": "Найти", "notFound": "Клиента с таким external_id нет.", "history": "История", "at": "Когда", "action": "Действие",
        "values": "Значения", "partner": "Партнёр", "partners": "Партнёры", "backlog": "Ждут файлов", "version": "Версия",
        "uptime": "Работает", "recent": "Последние загрузки", "problems": "Отклонённые и неудачные файлы", "none": "Нет.",
        "forbidden": "Такой страницы нет.", "csrf": "Форма устарела. Вернитесь, обновите страницу и отправьте снова.",
        "language": "Language: English", "otherLanguage": "en", "sftp": "SFTP", "browser": "браузер", "api": "API",
        "completed": "загружен", "checked": "проверен", "duplicate": "повтор", "statusRejected": "отклонён", "statusRunning": "в работе",
        "tooLarge": "Файл слишком большой: предел %@.", "uploadFailed": "Файл не принят: %@",
        "signedInAs": "Вы вошли как", "download": "Скачать", "seconds": "с",
        "busy": "Intake сейчас записывает большой файл. Повторите через несколько секунд.",
        "failed": "Внутри Intake произошла ошибка. Подробности в журнале под номером запроса %@.",
    ]
}
