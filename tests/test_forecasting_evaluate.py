"""`pulse forecast evaluate`: JSON shape, the table, and one-line errors for bad input."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.forecasting.evaluate import InputError, evaluate_csv, main, read_series

KEYS = {"model", "mase", "smape", "coverage_80", "coverage_95", "seasonal_naive"}


def write_series(path: Path, days: int = 120, seed: int = 1, drop: tuple[int, ...] = ()) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    y = rng.poisson(40 * (1 + 0.4 * np.sin(2 * np.pi * t / 7)) * (1 + 0.003 * t))
    frame = pd.DataFrame({"ds": pd.date_range("2024-03-01", periods=days).strftime("%Y-%m-%d"), "y": y})
    frame.drop(index=list(drop)).to_csv(path, index=False)
    return path


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_series(tmp_path / "bookings.csv")
    assert main([str(path), "--season", "7", "--horizon", "14", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    result = json.loads(out)
    assert set(result) == KEYS
    assert set(result["seasonal_naive"]) == {"mase", "smape"}
    assert isinstance(result["model"], str)
    assert 0 <= result["coverage_80"] <= result["coverage_95"] <= 1
    assert result["mase"] > 0 and 0 <= result["smape"] <= 200
    assert result == evaluate_csv(path, season=7, horizon=14)


def test_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_series(tmp_path / "bookings.csv", drop=(30, 31))
    assert main([str(path), "--horizon", "14"]) == 0
    out = capsys.readouterr().out
    assert "106 for training, the last 14 held out" in out
    assert "2 missing periods counted as 0" in out
    assert "SeasonalNaive" in out and "MASE" in out and "in 95 %" in out


def test_no_peeking_at_the_held_out_points(tmp_path: Path) -> None:
    # Changing the held-out points changes the scores, never the model chosen.
    path = write_series(tmp_path / "a.csv", days=100)
    frame = pd.read_csv(path)
    first = evaluate_csv(path, season=7, horizon=14)
    frame.loc[frame.index[-14:], "y"] = 0
    frame.to_csv(path, index=False)
    second = evaluate_csv(path, season=7, horizon=14)
    assert first["model"] == second["model"]
    assert first["mase"] != second["mase"]


def test_weekly_data_with_another_season(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    t = np.arange(60)
    y = 50 + 10 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 2, 60)
    path = tmp_path / "weekly.csv"
    pd.DataFrame({"ds": pd.date_range("2023-01-01", periods=60, freq="W").strftime("%Y-%m-%d"), "y": y}).to_csv(
        path, index=False
    )
    result = evaluate_csv(path, season=4, horizon=8)
    assert set(result) == KEYS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,value\n2024-01-01,1\n", "missing column(s) ds, y"),
        ("ds,y\n", "no rows"),
        ("ds,y\n2024-01-01,1\n2024-01-02,x\n", "y is not a finite number on line 3: 'x'"),
        ("ds,y\n2024-01-01,1\n2024-01-02,\n", "y is not a finite number on line 3"),
        ("ds,y\n2024-01-01,1\n2024-01-02,inf\n", "y is not a finite number"),
        ("ds,y\n2024-01-01,1\n2024-13-45,2\n", "ds is not an ISO 8601 date on line 3: '2024-13-45'"),
        ("ds,y\n2024-01-01,1\nyesterday,2\n", "ds is not an ISO 8601 date"),
        ("ds,y\n2024-01-01,1\n2024-01-01,2\n2024-01-02,3\n", "more than one row for 2024-01-01"),
        ("ds,y\n2024-01-01,1\n2024-01-02,1\n2024-01-04,1\n2024-01-05 12:00,1\n", "not evenly spaced"),
        (
            "ds,y\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 31)),
            "too few rows: 30 points; need at least 42",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main([str(path), "--json", "--horizon", "14"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    with pytest.raises(InputError):
        evaluate_csv(path, season=7, horizon=14)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no CSV file: give one with --csv FILE"),
        (["--csv", "{csv}", "other.csv"], "two CSV files given"),
        (["missing.csv"], "missing.csv: no such file"),
        (["{csv}", "--horizon", "x"], "invalid int value: 'x'"),
        (["{csv}", "--horizon", "0"], "horizon must be at least 1"),
        (["{csv}", "--season", "0"], "season must be at least 1"),
        (["{csv}", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    path = write_series(tmp_path / "ok.csv", days=60)
    argv = [
        arg.format(csv=path) if arg == "{csv}" else str(tmp_path / arg) if arg.endswith(".csv") else arg for arg in argv
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_not_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x01\x02")
    assert main([str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--horizon" in capsys.readouterr().out


def test_read_series_in_date_order(tmp_path: Path) -> None:
    path = tmp_path / "unsorted.csv"
    path.write_text("ds,y\n2024-01-03,3\n2024-01-01,1\n2024-01-02,2\n2024-01-05,5\n")
    y, filled = read_series(path)
    assert list(y) == [1, 2, 3, 0, 5] and filled == 1
