"""Numbers transcribed from the original repositories' logs, as data (the book recomputes the
papers' tables from them; the tests check our counters against them).

The energy log of CML+Spikingformer-8-768 (epoch-306 checkpoint): github.com/zhouchenlin2096/
Spikingformer-CML, ``imagenet/energy_consumption_of_CML_Spikingformer-8-768_log.txt`` @ 8e51213.
"""
from __future__ import annotations

from .energy import SSANames

SOURCE_8_768 = ("Spikingformer-CML imagenet/energy_consumption_of_CML_Spikingformer-8-768_log.txt"
                " @ 8e51213")
# Fixture transcribed from the log (file@8e51213 above). Input spike rates of the convs, in %: the
# 4th entry of each array in "Info of Conv/Linear layers" (l.471–524). patch_embed.proj_conv and
# head print 100 % there, i.e. a non-binary input counted as MACs.
LOG_STEM_RATES = {"proj1_conv": 30.6979311, "proj2_conv": 27.2936276, "proj3_conv": 20.1218839,
                  "proj4_conv": 18.0511491}
#: per block: (q_conv = k_conv = v_conv input, attn.proj_conv, mlp.mlp1_conv, mlp.mlp2_conv), %
LOG_BLOCK_RATES = [
    (13.3533379, 24.6886645, 20.1599884, 2.3262328),
    (28.6496022, 28.0517638, 29.7398049, 1.77142146),
    (30.9635712, 29.0120455, 29.7945762, 1.48185823),
    (29.7424507, 25.3351113, 30.0659853, 1.0811033),
    (30.814554, 20.4082568, 31.2376956, 0.728958219),
    (30.4838282, 15.0605091, 29.9169693, 0.530492536),
    (28.5801217, 9.59511737, 26.6817061, 0.260331367),
    (27.9276919, 11.7014378, 28.3720409, 0.731475075),
]
#: l.529 "Firing rate of Q/K/V inputs in each block": output rates of q_lif, k_lif, v_lif (fraction)
LOG_QKV_RATES = [
    (0.13315043649503164, 0.026845977721469745, 0.0589680741088731),
    (0.10154261520930699, 0.03320765120642526, 0.05909506022930145),
    (0.08418023134980883, 0.03426689425749438, 0.06547139636107853),
    (0.0653290120618684, 0.03764567235750811, 0.07199092379638126),
    (0.056951823702880315, 0.036176159381866455, 0.07051320629460471),
    (0.047579609240804406, 0.031267547256180216, 0.048261352202722006),
    (0.06125698353563037, 0.03037317144019263, 0.05197884289281709),
    (0.07514111629554203, 0.03165835722216538, 0.08135679389749255),
]
LOG_MAC = 520_993_768                # l.525 "0.520993768 G MACs"
LOG_CONV_AC = 15.420965553047033e9   # l.525 "G ACs in conv layers"
LOG_AC = 15.45512980251666e9         # l.530, conv + SSA
LOG_MJ = 16.306188155064994          # l.531 "Energy consumption"
LOG_SSA_HEADS = 12                   # l.527 ssa_info "Nheads": 12, for a model built with 8 heads
#: dense op counts per image of the log's tree view (the "Ops" before "oriMACs", l.42–467)
LOG_DENSE = {"patch_embed.proj_conv": 520_224_768, "patch_embed.proj1_conv": 8_323_596_288,
             "patch_embed.proj4_conv": 4_161_798_144, "block.0.attn.q_conv": 462_422_016,
             "block.0.attn.proj_conv": 463_024_128, "block.0.mlp.mlp1_conv": 1_852_096_512,
             "block.0.mlp.mlp2_conv": 1_850_290_176}
#: attribute names of the ImageNet SSA (``SpikingSelfAttention``: num_heads, embed_dim, q/k/v_lif)
IMAGENET_SSA = SSANames()

def log_rates() -> dict[str, float | None]:
    """The fixture as ``from_rates`` input: conv input rates (None = MAC) and q/k/v LIF rates."""
    rates: dict[str, float | None] = {"patch_embed.proj_conv": None, "head": None}
    rates.update({f"patch_embed.{k}": v / 100 for k, v in LOG_STEM_RATES.items()})
    for i, ((qkv, proj, mlp1, mlp2), lif) in enumerate(zip(LOG_BLOCK_RATES, LOG_QKV_RATES)):
        b = f"block.{i}"
        rates.update({f"{b}.attn.{c}_conv": qkv / 100 for c in "qkv"})
        rates.update({f"{b}.attn.proj_conv": proj / 100, f"{b}.mlp.mlp1_conv": mlp1 / 100,
                      f"{b}.mlp.mlp2_conv": mlp2 / 100})
        rates.update({f"{b}.attn.{getattr(IMAGENET_SSA, c)}": r for c, r in zip("qkv", lif)})
    return rates
