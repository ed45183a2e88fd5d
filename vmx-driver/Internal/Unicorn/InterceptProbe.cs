// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The calibration guests of <see cref="InterceptFields"/>, each in a scratch 64-bit engine of its own: 2 MiB of RAM
/// identity-mapped by one large page, CPL 0.
/// <para>
/// <see cref="Observe"/>: the engine's CPU model (QEMU's <c>qemu64</c>) has AMD SVM, so with EFER.SVME set, VMRUN at CPL
/// 0 loads a VMCB's control area (intercept masks, TSC offset) into the CPU state. The VMCB is the host-save page
/// (VM_HSAVE_PA) itself: VMRUN first saves the host's state into that page's save area and then loads the guest's from
/// the same place, so the "guest" continues after VMRUN with the host's state, and only the fields of the control
/// area, which hold distinctive values, are new. Before that, an <c>INT 0x80</c> sets the engine's "software interrupt"
/// record. The context is saved before the run, at the INT and after VMRUN.
/// </para>
/// <para>
/// <see cref="Verify"/>: no VMRUN; the fields found are written into a saved context before the run (the GUEST flag,
/// the intercept masks, the VMCB address whose control area points at an MSR permission map), and the guest executes
/// an RDMSR that is not intercepted, one that is, a CR3 read, a DR7 read, an <c>INT 0x80</c> (after which the
/// software-interrupt record is cleared, when its field is given), a NOP and an RDTSC. The interrupt hook records each
/// vector with RIP, skips the intercepted instruction, and at the RDTSC's exit clears the intercepts, sets a TSC offset
/// of 2^62 and lets the RDTSC run.
/// </para>
/// </summary>
internal static unsafe class InterceptProbe
{
    public const ulong VmcbAddress = 0x5000;
    public const ulong MsrMapAddress = 0x6000;
    public const ulong TscMark = 0x1357_9BDF_2468_ACE0;

    /// <summary>Distinctive, and without the HLT intercept (bit 24), so the HLT after VMRUN ends the run.</summary>
    public const ulong InterceptMark = 0x0F1E_2D3C_4A5A_6978;

    /// <summary>intercept_cr_read, _cr_write, _dr_read, _dr_write: the VMCB's first 8 bytes.</summary>
    public const ulong CrDrMark = 0x3CA5_C35A_5A3C_A5C3;

    /// <summary>The TSC offset the verification's RDTSC runs with.</summary>
    public const ulong VerifyTscOffset = 1UL << 62;

    public const ulong CodeAddress = 0x1000;
    public const int IntVector = 0x80;
    public const uint MsrStar = 0xC000_0081;
    public const uint MsrEfer = 0xC000_0080;
    public const uint MsrVmHsavePa = 0xC001_0117;
    public const ulong EferSvme = 1UL << 12;

    private const ulong RamSize = 2 * 1024 * 1024;
    private const ulong Pml4 = 0x10000;
    private const ulong Pdpt = 0x11000;
    private const ulong PageDirectory = 0x12000;
    private const ulong StackTop = 0x8000;
    private const ulong PresentWritable = 0x3;
    private const ulong LargePresentWritable = 0x83;
    private const ulong Cr0PePg = 0x8000_0001;
    private const ulong Cr4Pae = 0x20;
    private const int InstructionBudget = 64;

    /// <summary>int 0x80; vmrun; hlt.</summary>
    private static readonly byte[] s_observe = [0xCD, 0x80, 0x0F, 0x01, 0xD8, 0xF4];

    /// <summary>The verification guest, with the offset of each instruction.</summary>
    private static readonly byte[] s_verify =
    [
        0x0F, 0x32,                         // +0  rdmsr (ECX = EFER: not in the map)
        0xB9, 0x81, 0x00, 0x00, 0xC0,       // +2  mov ecx, STAR
        0x0F, 0x32,                         // +7  rdmsr: intercepted
        0x0F, 0x20, 0xD8,                   // +9  mov rax, cr3: intercepted
        0x0F, 0x21, 0xF8,                   // +12 mov rax, dr7: intercepted
        0xCD, 0x80,                         // +15 int 0x80
        0x90,                               // +17 nop
        0x0F, 0x31,                         // +18 rdtsc: intercepted, then run with the offset
        0xF4,                               // +20 hlt
    ];

    public const int RdmsrOffset = 7;
    public const int CrReadOffset = 9;
    public const int DrReadOffset = 12;
    public const int IntOffset = 15;
    public const int RdtscOffset = 18;

    /// <summary>What <see cref="Observe"/> saw: the saved context before the run, at the INT and after VMRUN; and how the
    /// run ended.</summary>
    internal sealed record Observation(byte[] Before, byte[] AtInt, byte[] AfterVmrun, int[] Vectors, int Error, ulong Rip);

    /// <summary>The fields <see cref="Verify"/> writes (offsets in a saved context).</summary>
    internal sealed record Fields(int Hflags, uint GuestMask, int VmVmcb, int TscOffset, int Intercept, int CrRead, int? ExceptionIsInt);

    /// <summary>What <see cref="Verify"/> saw: each vector with RIP, the TSC the last RDTSC read, the host's TSC before and
    /// after the run, and how the run ended.</summary>
    internal sealed record Verification((int Vector, ulong Rip)[] Exits, ulong GuestTsc, ulong HostBefore, ulong HostAfter, int Error, ulong Rip);

    public static Observation Observe() => WithRam(s_observe, ObserveIn);

    private static Observation ObserveIn(byte* ram)
    {
        // The VMCB's control area: the four 16-bit CR/DR masks, the exception mask, the 64-bit intercept, the TSC offset.
        *(ulong*)(ram + VmcbAddress) = CrDrMark;
        *(ulong*)(ram + VmcbAddress + 0x0C) = InterceptMark;
        *(ulong*)(ram + VmcbAddress + 0x50) = TscMark;
        using UcEngine engine = OpenEngine(ram);
        engine.WriteRegister(UcReg.Rax, VmcbAddress);
        WriteMsr(engine, MsrEfer, ReadMsr(engine, MsrEfer) | EferSvme);
        WriteMsr(engine, MsrVmHsavePa, VmcbAddress);
        using UcContext context = UcContext.Allocate(engine);
        context.Save(engine);
        byte[] before = context.Bytes.ToArray();
        var run = new CalibrationRun(engine, context, null, before);
        int err = RunWithHook(run, (delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, void>)&OnObserveInterrupt);
        context.Save(engine);
        return new Observation(before, run.AtFirstFault ?? [], context.Bytes.ToArray(), [.. run.Vectors], err, engine.ReadRegister(UcReg.Rip));
    }

    public static Verification Verify(Fields fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return WithRam(s_verify, ram => VerifyIn(ram, fields));
    }

    private static Verification VerifyIn(byte* ram, Fields fields)
    {
        *(ulong*)(ram + VmcbAddress + 0x48) = MsrMapAddress; // control.msrpm_base_pa
        int bit = (int)((0x2000 + (MsrStar - 0xC000_0000)) * 2); // STAR's read bit in the second range
        ram[MsrMapAddress + (ulong)(bit / 8)] |= (byte)(1 << (bit % 8));
        using UcEngine engine = OpenEngine(ram);
        engine.WriteRegister(UcReg.Rcx, MsrEfer);
        using UcContext context = UcContext.Allocate(engine);
        context.Save(engine);
        Span<byte> bytes = context.Bytes;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[fields.Hflags..], BinaryPrimitives.ReadUInt32LittleEndian(bytes[fields.Hflags..]) | fields.GuestMask);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[fields.VmVmcb..], VmcbAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[fields.TscOffset..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[fields.Intercept..], (1UL << (0x6E - 0x60)) | (1UL << (0x7C - 0x60)));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[fields.CrRead..], 1 << 3); // CR3 reads
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[(fields.CrRead + 4)..], 1 << 7); // DR7 reads
        context.Restore(engine);
        var state = new VerifyState(fields, engine, context);
        ulong hostBefore = HostTsc.Read();
        GCHandle self = GCHandle.Alloc(state);
        int err;
        try
        {
            engine.AddHook(UcConst.HookIntr, (delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, void>)&OnVerifyInterrupt, (void*)GCHandle.ToIntPtr(self));
            err = UcNative.uc_emu_start(engine.Raw, CodeAddress, ulong.MaxValue, 0, InstructionBudget);
        }
        finally
        {
            self.Free();
        }

        ulong hostAfter = HostTsc.Read();
        if (state.Error is not null)
        {
            throw new InvalidOperationException("The engine calibration's interrupt hook failed.", state.Error);
        }

        ulong tsc = ((engine.ReadRegister(UcReg.Rdx) & uint.MaxValue) << 32) | (engine.ReadRegister(UcReg.Rax) & uint.MaxValue);
        return new Verification([.. state.Exits], tsc, hostBefore, hostAfter, err, engine.ReadRegister(UcReg.Rip));
    }

    private delegate T RamBody<T>(byte* ram);

    private static T WithRam<T>(byte[] code, RamBody<T> body)
    {
        byte* ram = (byte*)NativeMemory.AlignedAlloc((nuint)RamSize, 4096);
        try
        {
            new Span<byte>(ram, (int)RamSize).Clear();
            *(ulong*)(ram + Pml4) = Pdpt | PresentWritable;
            *(ulong*)(ram + Pdpt) = PageDirectory | PresentWritable;
            *(ulong*)(ram + PageDirectory) = LargePresentWritable;
            code.CopyTo(new Span<byte>(ram + CodeAddress, code.Length));
            return body(ram);
        }
        finally
        {
            NativeMemory.AlignedFree(ram);
        }
    }

    private static UcEngine OpenEngine(byte* ram)
    {
        UcEngine engine = UcEngine.Open(UcConst.Mode64);
        engine.MapPointer(0, RamSize, UcConst.ProtAll, ram);
        engine.WriteRegister(UcReg.Cr3, Pml4);
        engine.WriteRegister(UcReg.Cr4, engine.ReadRegister(UcReg.Cr4) | Cr4Pae);
        engine.WriteRegister(UcReg.Cr0, engine.ReadRegister(UcReg.Cr0) | Cr0PePg);
        engine.WriteRegister(UcReg.Rsp, StackTop);
        return engine;
    }

    private static int RunWithHook(CalibrationRun run, delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, void> hook)
    {
        GCHandle self = GCHandle.Alloc(run);
        try
        {
            run.Engine.AddHook(UcConst.HookIntr, hook, (void*)GCHandle.ToIntPtr(self));
            int err = UcNative.uc_emu_start(run.Engine.Raw, CodeAddress, ulong.MaxValue, 0, InstructionBudget);
            if (run.Error is not null)
            {
                throw new InvalidOperationException("The engine calibration's interrupt hook failed.", run.Error);
            }

            return err;
        }
        finally
        {
            self.Free();
        }
    }

    internal static ulong ReadMsr(UcEngine engine, uint msr)
    {
        byte* buf = stackalloc byte[16];
        new Span<byte>(buf, 16).Clear();
        *(uint*)buf = msr;
        UcEngine.Check(UcNative.uc_reg_read(engine.Raw, UcReg.Msr, buf), "uc_reg_read(MSR)");
        return *(ulong*)(buf + 8);
    }

    internal static void WriteMsr(UcEngine engine, uint msr, ulong value)
    {
        byte* buf = stackalloc byte[16];
        new Span<byte>(buf, 16).Clear();
        *(uint*)buf = msr;
        *(ulong*)(buf + 8) = value;
        UcEngine.Check(UcNative.uc_reg_write(engine.Raw, UcReg.Msr, buf), "uc_reg_write(MSR)");
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnObserveInterrupt(IntPtr uc, uint vector, IntPtr user)
    {
        var run = (CalibrationRun)GCHandle.FromIntPtr(user).Target!;
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the error is rethrown after the run.
        try
        {
            run.Vectors.Add((int)vector);
            if (vector == IntVector && run.AtFirstFault is null)
            {
                run.Context.Save(run.Engine);
                run.AtFirstFault = run.Context.Bytes.ToArray();
                return; // RIP is after the INT already
            }

            run.Engine.Stop();
        }
        catch (Exception ex)
        {
            run.Error = ex;
            _ = UcNative.uc_emu_stop(uc);
        }
#pragma warning restore CA1031
    }

    private sealed class VerifyState(Fields fields, UcEngine engine, UcContext context)
    {
        public Fields Fields { get; } = fields;

        public UcEngine Engine { get; } = engine;

        public UcContext Context { get; } = context;

        public List<(int Vector, ulong Rip)> Exits { get; } = [];

        public Exception? Error { get; set; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnVerifyInterrupt(IntPtr uc, uint vector, IntPtr user)
    {
        var state = (VerifyState)GCHandle.FromIntPtr(user).Target!;
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the error is rethrown after the run.
        try
        {
            ulong rip = state.Engine.ReadRegister(UcReg.Rip);
            state.Exits.Add(((int)vector, rip));
            Fields f = state.Fields;
            switch (vector)
            {
                case 0x17C: // MSR
                    state.Engine.WriteRegister(UcReg.Rip, rip + 2);
                    break;
                case 0x103: // CR3 read
                case 0x127: // DR7 read
                    state.Engine.WriteRegister(UcReg.Rip, rip + 3);
                    break;
                case IntVector:
                    if (f.ExceptionIsInt is int isInt)
                    {
                        state.Context.Save(state.Engine);
                        BinaryPrimitives.WriteInt32LittleEndian(state.Context.Bytes[isInt..], 0);
                        state.Context.Restore(state.Engine);
                    }

                    break;
                case 0x16E: // RDTSC: run it with the intercepts off and the offset set
                    state.Context.Save(state.Engine);
                    Span<byte> bytes = state.Context.Bytes;
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes[f.Intercept..], 0);
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes[f.TscOffset..], VerifyTscOffset);
                    state.Context.Restore(state.Engine);
                    state.Engine.WriteRegister(UcReg.Rip, rip);
                    break;
                default:
                    state.Engine.Stop();
                    break;
            }
        }
        catch (Exception ex)
        {
            state.Error = ex;
            _ = UcNative.uc_emu_stop(uc);
        }
#pragma warning restore CA1031
    }
}
