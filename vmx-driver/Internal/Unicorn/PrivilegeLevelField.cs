// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The engine's current privilege level (QEMU keeps it in the low two bits of its <c>hflags</c>). The engine changes it
/// itself on IRETQ, SYSRETQ, SYSEXIT and far transfers through call gates (measured, docs/probes/engine-privilege), but
/// never when the API writes CS or SS, and it does not deliver interrupts or perform SYSCALL/SYSENTER: the VMX model
/// does, and when that lowers the privilege level (ring 3 to ring 0), <see cref="Set"/> writes the CPL here.
/// <para>
/// The API does not expose the field, so its place in a saved context is found once per process by calibration, never
/// assumed: a scratch engine goes to ring 3 with IRETQ and faults on RDMSR (#GP); the 32-bit fields whose low two bits
/// went from 0 to 3 are the candidates, and the one whose low bits set back to 0 lets the retried RDMSR run (no second
/// #GP) is the field. Calibration that finds none is an error naming the engine.
/// </para>
/// </summary>
internal sealed class PrivilegeLevelField
{
    /// <summary>#GP, the calibration's fault (RDMSR at CPL 3).</summary>
    public const int GeneralProtection = 13;

    private static readonly Lazy<PrivilegeLevelField> s_calibrated = new(() => Calibrate(PrivilegeLevelProbe.Run, EngineName()), LazyThreadSafetyMode.ExecutionAndPublication);

    private PrivilegeLevelField(int offset, int contextSize)
    {
        Offset = offset;
        ContextSize = contextSize;
    }

    /// <summary>The field of the loaded engine, calibrated on first use.</summary>
    /// <exception cref="CpuEngineUnavailableException">The calibration found no such field; the message says what it saw.</exception>
    public static PrivilegeLevelField Calibrated => s_calibrated.Value;

    /// <summary>The field's offset in a saved context (uc_context, header included).</summary>
    public int Offset { get; }

    /// <summary>The size of the saved contexts the offset applies to.</summary>
    public int ContextSize { get; }

    /// <summary>Sets the CPL of <paramref name="engine"/> to <paramref name="cpl"/> through <paramref name="scratch"/> (a
    /// context of that engine): save, patch the low two bits, restore. Call from a hook or while the engine does not run.</summary>
    public void Set(UcEngine engine, UcContext scratch, int cpl)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpl);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cpl, 3);
        scratch.Save(engine);
        Span<byte> field = scratch.Bytes[Offset..];
        BinaryPrimitives.WriteUInt32LittleEndian(field, (BinaryPrimitives.ReadUInt32LittleEndian(field) & ~3u) | (uint)cpl);
        scratch.Restore(engine);
    }

    /// <summary>Reads the CPL of <paramref name="engine"/> through <paramref name="scratch"/>.</summary>
    public int Get(UcEngine engine, UcContext scratch)
    {
        scratch.Save(engine);
        return (int)(BinaryPrimitives.ReadUInt32LittleEndian(scratch.Bytes[Offset..]) & 3);
    }

    /// <summary>Offsets of 4-byte-aligned 32-bit fields whose low two bits are 0 in <paramref name="before"/> and 3 in
    /// <paramref name="after"/>, those with the fewest other bits changed first.</summary>
    public static List<int> Candidates(ReadOnlySpan<byte> before, ReadOnlySpan<byte> after)
    {
        var found = new List<(int Offset, int Changed)>();
        int length = Math.Min(before.Length, after.Length);
        for (int offset = 0; offset + 4 <= length; offset += 4)
        {
            uint b = BinaryPrimitives.ReadUInt32LittleEndian(before[offset..]);
            uint a = BinaryPrimitives.ReadUInt32LittleEndian(after[offset..]);
            if ((b & 3) == 0 && (a & 3) == 3)
            {
                found.Add((offset, System.Numerics.BitOperations.PopCount((a ^ b) & ~3u)));
            }
        }

        return found.OrderBy(f => f.Changed).ThenBy(f => f.Offset).Select(f => f.Offset).ToList();
    }

    /// <summary>
    /// The calibration: <paramref name="run"/> executes the ring-3 guest in a fresh scratch engine, setting CPL 0 at the
    /// given offset at the #GP (none when null), and reports what it saw.
    /// </summary>
    /// <exception cref="CpuEngineUnavailableException">No field lowers the privilege level.</exception>
    public static PrivilegeLevelField Calibrate(Func<int?, PrivilegeLevelProbe.Result> run, string engine)
    {
        ArgumentNullException.ThrowIfNull(run);
        PrivilegeLevelProbe.Result plain = run(null);
        if (plain.Vectors is not [GeneralProtection, ..])
        {
            throw Failure(engine, $"RDMSR after an IRETQ to ring 3 raised vectors [{string.Join(", ", plain.Vectors)}], not a general-protection fault (13)");
        }

        List<int> candidates = Candidates(plain.Before, plain.AtFirstFault);
        if (candidates.Count == 0)
        {
            throw Failure(engine, $"no 32-bit field of the saved context ({plain.ContextSize} bytes) had its low two bits go from 0 to 3 at ring 3");
        }

        foreach (int offset in candidates)
        {
            PrivilegeLevelProbe.Result patched = run(offset);
            if (patched.Vectors is [GeneralProtection] && patched.ReachedHalt)
            {
                return new PrivilegeLevelField(offset, plain.ContextSize);
            }
        }

        throw Failure(engine, $"setting the low two bits of the candidate fields at offsets {string.Join(", ", candidates)} of the saved context to 0 did not let RDMSR run");
    }

    private static CpuEngineUnavailableException Failure(string engine, string what) =>
        new($"Calibrating the CPU engine ({engine}) failed: {what}. Without it, interrupts and SYSCALL from ring 3 cannot enter ring 0. "
            + $"Use Debian 13's {UcLibrary.DebianPackage} (./build.sh deps) or Unicorn 2.1.1.");

    private static string EngineName() => $"Unicorn {UcLibrary.FormatVersion(UcLibrary.VersionWord)} from {UcLibrary.Source}";
}
