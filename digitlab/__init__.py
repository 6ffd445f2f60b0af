"""DigitLab: understand and implement neural networks on handwritten digits.

The library never imports Streamlit; TensorFlow is imported only inside the
trainer worker and the functions that need it.
"""
__version__ = "0.1.0"
