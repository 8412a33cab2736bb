"""Engine version, recorded in every report so a published file can be traced to the rules used."""

ENGINE_VERSION = "1.0.0"
