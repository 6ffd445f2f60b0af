"""The tutorial's results next to DigitLab's, for the Home page and the README.

Tutorial figures are the ones it printed; DigitLab's were measured on this machine
(2 cores) on the official MNIST test set after training on the 10k sample, by the
benchmarks named in each row (re-run them to refresh these numbers).
"""

SEED_VS_DIGITLAB = [
    # (text key, tutorial, DigitLab, measured by)
    ("binary", "95% (on its own training data; median 92.4% on test, 7 of 20 seeds collapse to 53.7%)", "99.9%",
     "python -m bench.nn (acc_binary)"),
    ("mlp", "20%", "96.4%", "python -m bench.zoo (sklearn-mlp, preset working)"),
    ("cnn", "62.5%", "99.1%", "python -m bench.zoo (keras-cnn, preset augmented)"),
]
