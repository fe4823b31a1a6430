"""riskengine: declarative risk rules for real-estate sales launches and deliveries."""

__version__ = "0.1.0"
