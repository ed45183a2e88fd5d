// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The engine's record of the exception being delivered (QEMU's <c>old_exception</c>), which decides that a second
/// fault during delivery becomes a double fault (SDM Vol. 3A, "Interrupt 8—Double Fault Exception", table
/// "Conditions for Generating a Double Fault"). The engine sets it when it raises a contributory exception or a page
/// fault and clears it (-1) only when it delivers the exception itself. We deliver exceptions from UC_HOOK_INTR
/// instead, so it is never cleared and the guest's next fault would be reported as #DF: after every exception we
/// deliver, <see cref="Reset"/> sets it back to -1 in a saved context.
/// <para>
/// The API does not expose the field, so its place in a saved context is found once per process by calibration,
/// never assumed: a scratch engine faults on an unmapped page, the 32-bit fields that went from -1 to 14 (#PF) are the
/// candidates, and the one whose reset makes the next page fault a page fault again is the field. Calibration that
/// finds nothing is an error naming the engine.
/// </para>
/// </summary>
internal sealed class OldExceptionField
{
    /// <summary>#PF, the calibration's fault.</summary>
    public const int PageFault = 14;

    /// <summary>#DF, what a second page fault becomes while the field is not reset.</summary>
    public const int DoubleFault = 8;

    private static readonly Lazy<OldExceptionField> s_calibrated = new(() => Calibrate(OldExceptionProbe.Run, EngineName()), LazyThreadSafetyMode.ExecutionAndPublication);

    private OldExceptionField(int offset, int contextSize)
    {
        Offset = offset;
        ContextSize = contextSize;
    }

    /// <summary>The field of the loaded engine, calibrated on first use.</summary>
    /// <exception cref="CpuEngineUnavailableException">The calibration found no such field; the message says what it saw.</exception>
    public static OldExceptionField Calibrated => s_calibrated.Value;

    /// <summary>The field's offset in a saved context (uc_context, header included), or -1 when the engine needs no
    /// reset (a second page fault stayed a page fault).</summary>
    public int Offset { get; }

    /// <summary>The size of the saved contexts the offset applies to.</summary>
    public int ContextSize { get; }

    /// <summary>True when <see cref="Reset"/> has work to do.</summary>
    public bool IsNeeded => Offset >= 0;

    /// <summary>Sets the field to -1 in <paramref name="engine"/>'s CPU state through <paramref name="scratch"/> (a context
    /// of that engine): save, patch, restore. Call from a hook or while the engine does not run.</summary>
    public void Reset(UcEngine engine, UcContext scratch)
    {
        if (!IsNeeded)
        {
            return;
        }

        scratch.Save(engine);
        BinaryPrimitives.WriteInt32LittleEndian(scratch.Bytes[Offset..], -1);
        scratch.Restore(engine);
    }

    /// <summary>Sets the field to -1 in <paramref name="context"/>, a saved context of the engine the caller restores.</summary>
    public void ResetIn(Span<byte> context)
    {
        if (IsNeeded)
        {
            BinaryPrimitives.WriteInt32LittleEndian(context[Offset..], -1);
        }
    }

    /// <summary>Offsets of 4-byte-aligned 32-bit fields that hold -1 in <paramref name="before"/> and #PF (14) in <paramref name="after"/>.</summary>
    public static List<int> Candidates(ReadOnlySpan<byte> before, ReadOnlySpan<byte> after)
    {
        var found = new List<int>();
        int length = Math.Min(before.Length, after.Length);
        for (int offset = 0; offset + 4 <= length; offset += 4)
        {
            if (BinaryPrimitives.ReadInt32LittleEndian(before[offset..]) == -1 && BinaryPrimitives.ReadInt32LittleEndian(after[offset..]) == PageFault)
            {
                found.Add(offset);
            }
        }

        return found;
    }

    /// <summary>
    /// The calibration: <paramref name="run"/> executes the fault-twice guest in a fresh scratch engine, resetting the
    /// given offset after each fault (none when null), and reports the vectors raised and the context bytes before the
    /// run and at the first fault.
    /// </summary>
    /// <exception cref="CpuEngineUnavailableException">No offset makes a second page fault a page fault.</exception>
    public static OldExceptionField Calibrate(Func<int?, OldExceptionProbe.Result> run, string engine)
    {
        ArgumentNullException.ThrowIfNull(run);
        OldExceptionProbe.Result plain = run(null);
        if (plain.Vectors is not [PageFault, ..])
        {
            throw Failure(engine, $"an access to a not-present page raised vectors [{string.Join(", ", plain.Vectors)}], not a page fault (14)");
        }

        if (plain.Vectors is [PageFault, PageFault, ..])
        {
            return new OldExceptionField(-1, plain.ContextSize);
        }

        List<int> candidates = Candidates(plain.Before, plain.AtFirstFault);
        if (candidates.Count == 0)
        {
            throw Failure(engine, $"no 32-bit field of the saved context ({plain.ContextSize} bytes) went from -1 to 14 at the first page fault");
        }

        foreach (int offset in candidates)
        {
            OldExceptionProbe.Result patched = run(offset);
            if (patched.Vectors is [PageFault, PageFault, PageFault])
            {
                return new OldExceptionField(offset, plain.ContextSize);
            }
        }

        throw Failure(engine, $"resetting the candidate fields at offsets {string.Join(", ", candidates)} of the saved context did not keep a second page fault from becoming a double fault (8)");
    }

    private static CpuEngineUnavailableException Failure(string engine, string what) =>
        new($"Calibrating the CPU engine ({engine}) failed: {what}. Without it, a guest's second fault would be delivered as a double "
            + $"fault. Use Debian 13's {UcLibrary.DebianPackage} (./build.sh deps) or Unicorn 2.1.1.");

    private static string EngineName() => $"Unicorn {UcLibrary.FormatVersion(UcLibrary.VersionWord)} from {UcLibrary.Source}";
}
