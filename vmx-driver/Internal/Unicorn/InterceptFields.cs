// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The engine's AMD SVM intercept state (QEMU's <c>env->intercept</c> and friends), used as a hardware-style
/// intercept: while the GUEST flag of <c>hflags</c> is set, the engine's instruction helpers check the intercept masks
/// and, on a hit, restore the state to the instruction and raise exception number 0x100 + the SVM exit code, which
/// reaches UC_HOOK_INTR with RIP at the instruction; instructions that are not intercepted cost nothing more. The MSR
/// check reads the MSR permission map whose address is in the control area of the VMCB at <c>vm_vmcb</c>
/// (guest-physical). RDTSC adds <c>tsc_offset</c> whether the flag is set or not. The engine also keeps, after an
/// INT n, a "software interrupt" record (<c>exception_is_int</c>) that it never clears and that makes its exception
/// loop move RIP to after that INT before calling the hook: it is cleared after every delivered exception, so an exit
/// reports its own instruction.
/// <para>
/// The API exposes none of these, so their places in a saved context are found once per process by calibration,
/// never assumed (<see cref="InterceptProbe"/>): a VMRUN in a scratch engine loads a control area of distinctive values,
/// the context fields that took them are the candidates (the GUEST flag is one of the bits VMRUN set in the flags word
/// that holds the CPL, <see cref="PrivilegeLevelField"/>), and a second scratch engine with the fields written must exit at
/// an intercepted RDMSR, CR3 read, DR7 read and RDTSC, each at its own RIP (after an INT n too), run an RDMSR the map
/// does not intercept, and add the TSC offset. Calibration that finds nothing is an error naming the engine.
/// </para>
/// </summary>
internal sealed class InterceptFields
{
    /// <summary>The engine's exception number of an SVM exit: 0x100 (EXCP_VMEXIT) + the exit code.</summary>
    public const int ExitBase = 0x100;

    private static readonly Lazy<InterceptFields> s_calibrated = new(() => Calibrate(InterceptProbe.Observe, InterceptProbe.Verify, EngineName()), LazyThreadSafetyMode.ExecutionAndPublication);

    private InterceptFields(InterceptProbe.Fields fields, int contextSize)
    {
        Fields = fields;
        ContextSize = contextSize;
    }

    /// <summary>The fields of the loaded engine, calibrated on first use.</summary>
    /// <exception cref="CpuEngineUnavailableException">The calibration failed; the message says what it saw.</exception>
    public static InterceptFields Calibrated => s_calibrated.Value;

    /// <summary>The offsets found.</summary>
    public InterceptProbe.Fields Fields { get; }

    /// <summary>The size of the saved contexts the offsets apply to.</summary>
    public int ContextSize { get; }

    /// <summary>
    /// Writes the intercept state into <paramref name="context"/> (a saved context of the engine, restored by the
    /// caller): the GUEST flag set when <see cref="EngineIntercepts.Active"/>, the intercept masks (the 64-bit instruction mask, the
    /// CR read/write and DR read/write masks), the VMCB address and the TSC offset.
    /// </summary>
    public void Write(Span<byte> context, in EngineIntercepts state)
    {
        InterceptProbe.Fields f = Fields;
        uint hflags = BinaryPrimitives.ReadUInt32LittleEndian(context[f.Hflags..]);
        BinaryPrimitives.WriteUInt32LittleEndian(context[f.Hflags..], state.Active ? hflags | f.GuestMask : hflags & ~f.GuestMask);
        BinaryPrimitives.WriteUInt64LittleEndian(context[f.Intercept..], state.Instructions);
        BinaryPrimitives.WriteUInt16LittleEndian(context[f.CrRead..], state.CrReads);
        BinaryPrimitives.WriteUInt16LittleEndian(context[(f.CrRead + 2)..], state.CrWrites);
        BinaryPrimitives.WriteUInt16LittleEndian(context[(f.CrRead + 4)..], state.DrReads);
        BinaryPrimitives.WriteUInt16LittleEndian(context[(f.CrRead + 6)..], state.DrWrites);
        BinaryPrimitives.WriteUInt64LittleEndian(context[f.VmVmcb..], state.Vmcb);
        BinaryPrimitives.WriteUInt64LittleEndian(context[f.TscOffset..], state.TscOffset);
    }

    /// <summary>Clears the engine's software-interrupt record in <paramref name="context"/> (see the summary).</summary>
    public void ClearSoftwareInterrupt(Span<byte> context)
    {
        if (Fields.ExceptionIsInt is int offset)
        {
            BinaryPrimitives.WriteInt32LittleEndian(context[offset..], 0);
        }
    }

    /// <summary>Offsets of <paramref name="width"/>-byte fields aligned to <paramref name="align"/> that hold
    /// <paramref name="value"/> in <paramref name="after"/> and not in <paramref name="before"/>.</summary>
    public static List<int> Candidates(ReadOnlySpan<byte> before, ReadOnlySpan<byte> after, ulong value, int width, int align)
    {
        var found = new List<int>();
        int length = Math.Min(before.Length, after.Length);
        for (int offset = 0; offset + width <= length; offset += align)
        {
            if (Read(after[offset..], width) == value && Read(before[offset..], width) != value)
            {
                found.Add(offset);
            }
        }

        return found;
    }

    private static ulong Read(ReadOnlySpan<byte> bytes, int width) => width switch
    {
        8 => BinaryPrimitives.ReadUInt64LittleEndian(bytes),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
        _ => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
    };

    /// <summary>The calibration: <paramref name="observe"/> runs the VMRUN guest, <paramref name="verify"/> the guest that
    /// checks a set of offsets (see the summary).</summary>
    /// <exception cref="CpuEngineUnavailableException">No set of offsets passes the verification.</exception>
    public static InterceptFields Calibrate(Func<InterceptProbe.Observation> observe, Func<InterceptProbe.Fields, InterceptProbe.Verification> verify, string engine)
    {
        ArgumentNullException.ThrowIfNull(observe);
        ArgumentNullException.ThrowIfNull(verify);
        InterceptProbe.Observation seen = observe();
        if (seen.Vectors is not [InterceptProbe.IntVector] || seen.Error != UcConst.ErrOk || seen.Rip != InterceptProbe.CodeAddress + 6)
        {
            throw Failure(engine, $"VMRUN with EFER.SVME set did not run to the HLT after it (vectors [{string.Join(", ", seen.Vectors.Select(v => $"0x{v:X}"))}], "
                + $"{UcEngine.ErrorText(seen.Error)}, RIP 0x{seen.Rip:X})");
        }

        int hflags = PrivilegeLevelField.Calibrated.Offset;
        uint changed = BinaryPrimitives.ReadUInt32LittleEndian(seen.AfterVmrun.AsSpan(hflags)) & ~BinaryPrimitives.ReadUInt32LittleEndian(seen.Before.AsSpan(hflags));
        int tsc = Single(engine, "the TSC offset", Candidates(seen.Before, seen.AfterVmrun, InterceptProbe.TscMark, 8, 4));
        int intercept = Single(engine, "the intercept mask", Candidates(seen.Before, seen.AfterVmrun, InterceptProbe.InterceptMark, 8, 4));
        int crdr = Single(engine, "the CR/DR intercept masks", Candidates(seen.Before, seen.AfterVmrun, InterceptProbe.CrDrMark, 8, 2));
        if (changed == 0)
        {
            throw Failure(engine, "VMRUN set no bit of the flags word that holds the CPL (no GUEST flag)");
        }

        List<int> vmcbs = Candidates(seen.Before, seen.AfterVmrun, InterceptProbe.VmcbAddress, 8, 4);
        List<int?> softwareInterrupt = [.. Candidates(seen.Before, seen.AtInt, 1, 4, 4).Select(o => (int?)o), null];
        IEnumerable<uint> bits = Enumerable.Range(0, 32).Select(b => 1u << b).Where(b => (changed & b) != 0);
        foreach (uint guest in bits)
        {
            foreach (int vmcb in vmcbs)
            {
                foreach (int? isInt in softwareInterrupt)
                {
                    var fields = new InterceptProbe.Fields(hflags, guest, vmcb, tsc, intercept, crdr, isInt);
                    if (Passes(verify(fields)))
                    {
                        return new InterceptFields(fields, seen.Before.Length);
                    }
                }
            }
        }

        throw Failure(engine, $"no candidate VMCB field (offsets {string.Join(", ", vmcbs)}) with the TSC offset at {tsc}, the intercept mask at {intercept}, "
            + $"the CR/DR masks at {crdr} and a GUEST flag among the bits 0x{changed:X} VMRUN set made RDMSR, a CR3 read, a DR7 read and RDTSC exit at their own RIP");
    }

    /// <summary>True when the verification guest exited where it must and its RDTSC read the host's TSC plus the offset.</summary>
    public static bool Passes(InterceptProbe.Verification v)
    {
        ArgumentNullException.ThrowIfNull(v);
        ulong code = InterceptProbe.CodeAddress;
        (int, ulong)[] expected =
        [
            (ExitBase + 0x7C, code + InterceptProbe.RdmsrOffset),
            (ExitBase + 0x03, code + InterceptProbe.CrReadOffset),
            (ExitBase + 0x27, code + InterceptProbe.DrReadOffset),
            (InterceptProbe.IntVector, code + InterceptProbe.IntOffset + 2),
            (ExitBase + 0x6E, code + InterceptProbe.RdtscOffset),
        ];
        ulong host = v.GuestTsc - InterceptProbe.VerifyTscOffset;
        return v.Error == UcConst.ErrOk && v.Exits.SequenceEqual(expected) && host >= v.HostBefore && host <= v.HostAfter;
    }

    private static int Single(string engine, string what, List<int> candidates) => candidates is [int one]
        ? one
        : throw Failure(engine, $"{candidates.Count} fields of the saved context took the value VMRUN loads into {what} (offsets {string.Join(", ", candidates)}), not one");

    private static CpuEngineUnavailableException Failure(string engine, string what) =>
        new($"Calibrating the CPU engine ({engine}) failed: {what}. Without it, the guest's MSR, CR, DR and time-stamp-counter instructions cannot be "
            + $"intercepted. Use Debian 13's {UcLibrary.DebianPackage} (./build.sh deps) or Unicorn 2.1.1.");

    private static string EngineName() => $"Unicorn {UcLibrary.FormatVersion(UcLibrary.VersionWord)} from {UcLibrary.Source}";
}

/// <summary>The intercept state <see cref="InterceptFields.Write"/> puts into the engine: the GUEST flag, the SVM
/// instruction mask (bit = exit code − 0x60), the CR and DR masks (bit n = CRn/DRn), the guest-physical address of the
/// VMCB page whose control area holds the MSR permission map's address, and the TSC offset.</summary>
internal readonly record struct EngineIntercepts(bool Active, ulong Instructions, ushort CrReads, ushort CrWrites, ushort DrReads, ushort DrWrites, ulong Vmcb, ulong TscOffset);
