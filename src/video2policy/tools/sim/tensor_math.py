"""Batched quaternion helpers (wxyz) that task code may import: `from video2policy.tools.sim import tensor_math`."""

from __future__ import annotations

import torch


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4)."""
    w, xyz = q[..., :1], q[..., 1:]
    t = 2.0 * torch.cross(xyz, v, dim=-1)
    return v + w * t + torch.cross(xyz, t, dim=-1)


def up_axis(q: torch.Tensor) -> torch.Tensor:
    """The object's local z axis in the world frame; its z component is 1 when upright, 0 when on its side."""
    return quat_rotate(q, torch.tensor([0.0, 0.0, 1.0], dtype=q.dtype).expand((*q.shape[:-1], 3)))


def yaw(q: torch.Tensor) -> torch.Tensor:
    w, x, y, z = q.unbind(-1)
    return torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def yaw_quat(angle: torch.Tensor) -> torch.Tensor:
    """Quaternions for rotations by `angle` about the world z axis."""
    zeros = torch.zeros_like(angle)
    return torch.stack([torch.cos(angle / 2), zeros, zeros, torch.sin(angle / 2)], dim=-1)
