"""Entries made before submissions carried test predictions: kept, shown as "not rescored".

Why a list in the code rather than a flag in the file: a flag in a submission would let a new,
forged entry opt out of rescoring by leaving its predictions out. These ids were committed
before issue 18; any other entry without predictions fails the check. Their stated fits are
still recomputed from their raw trial MAEs, but those MAEs cannot be verified.
"""

NOT_RESCORED: frozenset[str] = frozenset(
    {
        "delta-baseline-bandgap-39c3b774f8",
        "delta-baseline-chi-d083377ec3",
        "delta-baseline-chi-f9d59b5671",
        "delta-baseline-polymer-density-54363d68ac",
        "delta-baseline-polymer-density-a10bdcbe93",
        "gbdt-delta-baseline-bandgap-dbfe8101bf",
        "gbdt-delta-baseline-chi-c7a8b88fd9",
        "gbdt-delta-baseline-chi-e70a82fea9",
        "gbdt-delta-baseline-polymer-density-1a3ff02b1b",
        "gbdt-stack-baseline-bandgap-50eab173f5",
        "gbdt-stack-baseline-chi-2af3f8111d",
        "gbdt-stack-baseline-chi-3fcf6f123e",
        "gbdt-stack-baseline-polymer-density-9d8bc0071e",
        "mlp-baseline-bandgap-9d89b81c8e",
        "mlp-baseline-chi-6c54097611",
        "mlp-baseline-chi-f4f000b59a",
        "mlp-baseline-polymer-density-315dd059b2",
        "mlp-baseline-polymer-density-b8979240b9",
        "mlp-head-baseline-bandgap-d7be6f56c0",
        "mlp-head-baseline-chi-6c6bb2bea2",
        "mlp-head-baseline-chi-ad89de13c2",
        "mlp-head-baseline-polymer-density-39950bb05a",
        "mlp-head-baseline-polymer-density-bc7a8b3ad1",
        "ridge-baseline-bandgap-c93a7b9d12",
        "ridge-baseline-chi-6edb253c1b",
        "ridge-baseline-chi-d1c9a94db3",
        "ridge-baseline-polymer-density-2c746c1cf7",
        "stack-baseline-bandgap-4e6f406f83",
        "stack-baseline-chi-27500ef2e1",
        "stack-baseline-chi-68b251d7d4",
        "stack-baseline-polymer-density-62b175fd8f",
        "stack-baseline-polymer-density-96ace46e18",
    }
)
