// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The state a start-up calibration probe (<see cref="OldExceptionProbe"/>, <see cref="PrivilegeLevelProbe"/>) shares
/// with its interrupt hook during one run of a scratch engine: the engine and its saved context, the candidate field the
/// hook writes (null: observe only), the context as it was before the run, and what the hook saw.
/// </summary>
internal sealed class CalibrationRun(UcEngine engine, UcContext context, int? fieldOffset, byte[] before)
{
    public UcEngine Engine { get; } = engine;

    public UcContext Context { get; } = context;

    /// <summary>The candidate field's offset in the saved context, which the hook writes; null to only observe.</summary>
    public int? FieldOffset { get; } = fieldOffset;

    public byte[] Before { get; } = before;

    public List<int> Vectors { get; } = [];

    public byte[]? AtFirstFault { get; set; }

    public Exception? Error { get; set; }
}
