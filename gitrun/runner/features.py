"""The registry of recording features: which extensions and result contributors run, in order.

Explicit tuples rather than registration by the side effects of imports, so that what a recording
does can be read here. A new feature adds its extension class, its contributor (which reads back
from the spool whatever must reach the stored run, also for a crashed run finalised later) and,
if it needs the final metadata, a doc finaliser.
"""

from __future__ import annotations

from gitrun.runner import data, env_reads, expect, notebook, outputs, reported, system, tensorboard, tracking
from gitrun.runner.ending import DocFinaliser, ResultContributor
from gitrun.runner.extensions import RecordExtension

# Extension classes, in the order their hooks run.
EXTENSIONS: tuple[type[RecordExtension], ...] = (
    data.DataExtension,
    env_reads.EnvReadsExtension,
    expect.ExpectExtension,
    outputs.OutputsExtension,
    system.SystemExtension,
    tracking.ParamsMetricsExtension,
)

# Result contributors, in the order their files and metadata are merged.
CONTRIBUTORS: tuple[ResultContributor, ...] = (
    data.data_result,
    env_reads.env_reads_contributor,
    outputs.outputs_result,
    tensorboard.tensorboard_result,  # after outputs: reads the event files among them
    system.system_result,
    tracking.tracking_result,
    reported.reported_result,  # after tracking: a reported final value wins over a series' last value
    notebook.notebook_result,
)

# Called on the final metadata after every contributor's update.
DOC_FINALISERS: tuple[DocFinaliser, ...] = (
    expect.check_expect,
)
