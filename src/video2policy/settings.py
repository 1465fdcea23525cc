"""Settings: command-line flags win, then V2P_* environment variables, then v2p.toml in the working folder."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="V2P_", toml_file="v2p.toml", extra="ignore")

    # simulation
    robot: str = "gripper"
    control_period: float = Field(0.05, gt=0)
    horizon: int = Field(100, gt=0, description="episode length in control steps (the paper uses 300)")
    sim_threads: int | None = Field(None, description="threads for batched stepping; default: all cores")
    device: str = "cpu"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def load_settings(**overrides: object) -> Settings:
    """Settings with explicit overrides (flags); None values are ignored so unset flags fall through."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
