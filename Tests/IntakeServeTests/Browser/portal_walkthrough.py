"""The portal in a real browser: Debian's Chromium driven by Selenium through chromedriver.

Run by PortalBrowserTests.swift against a live `intake watch --http` on loopback. It walks the
pages a partner's staff use, asserts what a person would see, saves a screenshot of each page,
and prints what the Swift test checks further (downloads, import ids) as one JSON line.

    portal_walkthrough.py BASE SCREENSHOTS DOWNLOADS CSV_PATH
"""
import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE, SHOTS, DOWNLOADS, CSV = sys.argv[1:5]
PASSWORD = "correct horse battery"
facts = {}

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US"):
    options.add_argument(flag)
options.add_experimental_option("prefs", {"download.default_directory": DOWNLOADS, "download.prompt_for_download": False,
                                          "intl.accept_languages": "en-US,en"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
# The imports page reloads itself while an upload is pending: an element may go stale between
# finding and reading it, which only means "look again".
wait = WebDriverWait(driver, 60, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException])
# While the imports page reloads, Chromium may also answer that a node "does not belong to the
# document" (a WebDriverException of its own); on that page that too means "look again".
reloading_wait = WebDriverWait(driver, 60, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException, WebDriverException])


def shot(name):
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def text(css):
    """The text of `css` once the page has it (a click's navigation may still be loading)."""
    return wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, css))).text


def sign_in(email, password=PASSWORD):
    driver.get(BASE + "/sign-in")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()


def downloaded(name):
    path = os.path.join(DOWNLOADS, name)
    wait.until(lambda _: os.path.exists(path) and not os.path.exists(path + ".crdownload"))
    return path


def upload(path, check=False):
    driver.get(BASE + "/upload")
    if check:
        driver.find_element(By.ID, "check").click()
    driver.find_element(By.ID, "file").send_keys(path)
    driver.find_element(By.ID, "send").click()
    wait.until(EC.url_contains("/imports?received="))


def finished_row(file_name, status=("completed", "checked", "rejected")):
    """Waits until the imports table shows `file_name` finished (the page's script reloads it,
    nobody clicks Refresh) and returns its cells' texts and import id."""
    def done(_):
        for row in driver.find_elements(By.CSS_SELECTOR, "#imports tbody tr"):
            cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
            if cells and cells[0] == file_name and cells[3] in status:
                return cells, int(row.get_attribute("data-import"))
        return False
    return reloading_wait.until(done)


try:
    # Signed out, every page leads to sign-in; a wrong password says so.
    driver.get(BASE + "/imports")
    wait.until(EC.url_contains("/sign-in"))
    shot("01-sign-in")
    sign_in("anna@acme.example", "not the password")
    assert "wrong" in text("#message"), text("#message")
    sign_in("anna@acme.example")
    wait.until(EC.url_contains("/imports"))
    assert "No files yet." in driver.page_source

    # Upload a CSV through the form; it appears and finishes with the right counts.
    driver.get(BASE + "/upload")
    shot("02-upload")
    upload(CSV)
    cells, facts["import_id"] = finished_row(os.path.basename(CSV))
    assert cells[2] == "browser" and cells[3] == "completed", cells
    assert cells[4:8] == ["2", "0", "0", "1"], cells
    shot("03-imports")

    # The detail page: counts, the rejected row with its reason, the downloads.
    driver.find_element(By.CSS_SELECTOR, '#imports tr[data-import="%d"] a' % facts["import_id"]).click()
    wait.until(EC.presence_of_element_located((By.ID, "facts")))
    assert text("#created") == "2" and text("#rejected") == "1", driver.page_source
    assert "not an email address" in text("#rejected-rows"), text("#rejected-rows")
    shot("04-detail")
    driver.find_element(By.ID, "download-result").click()
    facts["result"] = downloaded("browser.import-%d.result.xlsx" % facts["import_id"])
    driver.find_element(By.ID, "download-original").click()
    facts["original"] = downloaded(os.path.basename(CSV))

    # The template: download it and send it back unchanged.
    driver.get(BASE + "/template")
    shot("05-template")
    driver.find_element(By.ID, "template-xlsx").click()
    facts["template"] = downloaded("acme-customers-template.xlsx")
    upload(facts["template"])
    cells, facts["template_import_id"] = finished_row("acme-customers-template.xlsx")
    assert cells[3] == "completed" and cells[7] == "0", cells

    # A check only, then "run it for real" from its page.
    upload(CSV.replace("browser.csv", "second.csv"), check=True)
    cells, checked = finished_row("second.csv")
    assert cells[3] == "checked", cells
    driver.get(BASE + "/imports/%d" % checked)
    driver.find_element(By.ID, "run-for-real").click()
    wait.until(EC.url_contains("/imports?received="))
    finished_row("second.csv", status=("completed",))

    # Customer lookup with history.
    driver.get(BASE + "/customers")
    driver.find_element(By.ID, "external-id").send_keys("B-1")
    driver.find_element(By.ID, "find").click()
    wait.until(EC.presence_of_element_located((By.ID, "customer")))
    assert "b@example.com" in text("#customer") and "browser.csv" in text("#history"), driver.page_source
    shot("06-customer")

    # Russian, from the switch in the header; the choice sticks.
    driver.get(BASE + "/imports")
    driver.find_element(By.ID, "language").click()
    wait.until(lambda _: "Загрузки" in driver.find_element(By.TAG_NAME, "h1").text)
    shot("07-imports-ru")
    driver.find_element(By.ID, "language").click()
    wait.until(lambda _: "Imports" in driver.find_element(By.TAG_NAME, "h1").text)

    # Sign out: the pages lead to sign-in again.
    driver.find_element(By.ID, "sign-out").click()
    wait.until(EC.url_contains("/sign-in"))
    driver.get(BASE + "/imports/%d" % facts["import_id"])
    wait.until(EC.url_contains("/sign-in"))

    # Another partner's user cannot reach the first partner's import.
    sign_in("boris@other.example")
    wait.until(EC.url_contains("/imports"))
    driver.get(BASE + "/imports/%d" % facts["import_id"])
    assert "This page is not there." in driver.page_source
    driver.find_element(By.ID, "sign-out").click()
    wait.until(EC.url_contains("/sign-in"))

    # The operator view.
    sign_in("ops@intake.example")
    wait.until(EC.url_contains("/operator"))
    assert "acme" in text("#recent") and "browser.csv" in text("#recent"), text("#recent")
    shot("08-operator")
    print(json.dumps(facts))
except Exception:
    # What the browser showed when a step failed, for the test's report.
    shot("failure")
    sys.stderr.write("page at failure: %s\n%s\n" % (driver.current_url, driver.page_source[-3000:]))
    raise
finally:
    driver.quit()
