"""An existing collector made a Sluice pipeline: the date comes as argv[1] (the {date}
placeholder) and as SLUICE_PARTITION_DATE; rows go to the CSV file named by SLUICE_OUTPUT."""
import csv
import os
import sys

day = sys.argv[1]
with open(os.environ["SLUICE_OUTPUT"], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["date", "symbol", "close"])
    for symbol, close in [("AAPL", 190.5), ("MSFT", 410.25), ("SPY", 601.1)]:
        w.writerow([day, symbol, close])
print(f"collected {day} (attempt {os.environ['SLUICE_ATTEMPT']})")
