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

    # --- agents (video2policy.agents): language models, the graph's sizes, training budget, ablations --------
    llm_provider: str = Field(
        "auto",
        description="'openai' (any OpenAI-compatible endpoint), 'offline', or 'auto': "
        "openai when llm_base_url or llm_api_key is set, otherwise offline",
    )
    llm_base_url: str | None = Field(None, description="e.g. http://localhost:11434/v1 (Ollama), :8000/v1 (vLLM)")
    llm_model: str = "gpt-4o"
    llm_api_key: str | None = Field(None, description="also read from OPENAI_API_KEY when unset")
    llm_temperature: float = Field(0.8, ge=0)
    llm_timeout_s: float = Field(120.0, gt=0)
    llm_max_retries: int = Field(3, ge=0, description="retries after a 5xx, 429, timeout or connection error")
    llm_json_mode: str = Field("json_schema", description="structured outputs: json_schema | json_object | none")
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "gpt-4o": (2.5, 10.0),
            "gpt-4o-mini": (0.15, 0.6),
            "gpt-4.1": (2.0, 8.0),
            "gpt-4.1-mini": (0.4, 1.6),
        },
        description="USD per million (input, output) tokens by model name; unknown models cost 0",
    )
    code_samples: int = Field(8, ge=1, description="K: task-code candidates written in parallel")
    reward_samples: int = Field(8, ge=1, description="M: reward variants trained per iteration")
    iterations: int = Field(5, ge=1, description="N: reward-reflection iterations")
    repair_attempts: int = Field(2, ge=0, description="times a candidate failing a sandbox tier goes back to the coder")
    success_weight: float = Field(100.0, ge=0, description="lambda in the training reward R + lambda * success")
    train_env_steps: int = Field(2_000_000, gt=0, description="environment steps per reward-variant training")
    train_num_envs: int = Field(64, gt=0)
    train_timeout_s: float = Field(3600.0, gt=0)
    train_workers: int | None = Field(None, description="trainings run at once; default: the number of cores")
    train_hyperparameters: dict[str, object] = Field(default_factory=dict, description="PPO overrides")
    eval_episodes: int = Field(10, gt=0)
    eval_seeds: tuple[int, ...] = (0, 1, 2)
    ablations: list[str] = Field(
        default_factory=list,
        description="no_visual, no_success_picking, no_reflection, single_reward_sample, no_tracking, robogen",
    )
    runs_dir: str = Field("runs", description="where `v2p run` creates run folders")
    example_pool: str | None = Field(
        None, description="folder of solved tasks for the coder's examples; default: <runs_dir>/pool"
    )
    review: bool = Field(False, description="stop after picking the task code for a person to approve")
    # --- end of agents settings ---------------------------------------------------------------------------

    # --- perception, `models` backend (video2policy.tools.perception.models): local weight folders -------
    # Each is a folder written by save_pretrained (config.json, weights, processor files); nothing is downloaded.
    perception_grounding_model: str | None = Field(
        None, description="Grounding DINO folder (ground stage), e.g. a copy of IDEA-Research/grounding-dino-tiny"
    )
    perception_sam2_model: str | None = Field(
        None, description="SAM 2 video folder (segment; also turns ground boxes into masks), e.g. sam2.1-hiera-tiny"
    )
    perception_depth_model: str | None = Field(
        None, description="Depth Anything metric folder (depth stage), e.g. Depth-Anything-V2-Metric-Indoor-Small-hf"
    )
    perception_device: str = Field("auto", description="auto (cuda when available, else cpu) | cpu | cuda | cuda:N")
    perception_box_threshold: float = Field(0.35, ge=0, description="Grounding DINO: least box score kept")
    perception_text_threshold: float = Field(0.25, ge=0, description="Grounding DINO: least text-token score")
    # --- end of perception settings --------------------------------------------------------------------------

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
