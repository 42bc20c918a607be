"""dlviz: build, train, look inside and explain neural networks.

The core (everything except ``dlviz.ui``) is a plain PyTorch library: it never imports streamlit.
"""

__version__ = "0.1.0"
