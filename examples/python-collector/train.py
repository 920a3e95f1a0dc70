"""Runs only after collect_daily landed the same date."""
import json
import os

partition = json.loads(os.environ["SLUICE_PARTITION"])
print(f"training on {partition['date']} (item {os.environ['SLUICE_ITEM_ID']})")
