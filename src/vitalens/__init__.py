"""vitalens: smartphone-photo screening estimates with honest error bars and fairness audits.

Research software, not a medical device.
"""

__version__ = "0.1.0"

DISCLAIMER = (
    "vitalens is research software, not a medical device. Its estimates are not a diagnosis and "
    "must not guide treatment; confirm any result with a laboratory test."
)
