"""Machine learning: datasets and labels from the feature table, honest walk-forward training against a
baseline, a model registry with verified artifacts, and stored predictions.

Entry points: :func:`workstation.ml.service.train_and_register`, :mod:`workstation.ml.registry`,
:func:`workstation.ml.predict.predict_latest`.
"""
