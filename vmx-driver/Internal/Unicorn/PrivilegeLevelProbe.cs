// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The calibration guest of <see cref="PrivilegeLevelField"/>, in a scratch 64-bit engine of its own: 2 MiB of RAM
/// identity-mapped by one user-accessible large page, a GDT with ring-0 and ring-3 segments, and an IRETQ to ring 3
/// (which the engine executes itself) landing on RDMSR, a privileged instruction: at CPL 3 it raises #GP. UC_HOOK_INTR
/// records each vector and, when asked, sets the CPL bits of a context field to 0 and retries the RDMSR, which then
/// runs and reaches HLT.
/// </summary>
internal static unsafe class PrivilegeLevelProbe
{
    private const ulong RamSize = 2 * 1024 * 1024;
    private const ulong Pml4 = 0x10000;
    private const ulong Pdpt = 0x11000;
    private const ulong PageDirectory = 0x12000;
    private const ulong Gdt = 0x2000;
    private const ulong KernelCode = 0x1000;
    private const ulong UserCode = 0x3000;
    private const ulong KernelStack = 0x8000;
    private const ulong UserStack = 0x9000;
    private const ulong UserPresentWritable = 0x7;
    private const ulong UserLargePresentWritable = 0x87;
    private const ulong Cr0PePg = 0x8000_0001;
    private const ulong Cr4Pae = 0x20;
    private const ulong MsrEfer = 0xC000_0080;
    private const int InstructionBudget = 32;

    /// <summary>Null; 64-bit code DPL 0 (08h); data DPL 0 (10h); 64-bit code DPL 3 (18h); data DPL 3 (20h).</summary>
    private static readonly ulong[] s_gdt = [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0x00AF_FA00_0000_FFFF, 0x00CF_F200_0000_FFFF];

    /// <summary>What a run saw: vectors in order, the saved context at CPL 0 before the run and at the first fault (CPL 3),
    /// and whether the run ended at the HLT after the RDMSR.</summary>
    internal sealed record Result(int[] Vectors, byte[] Before, byte[] AtFirstFault, int ContextSize, bool ReachedHalt);

    /// <summary>Runs the guest in a fresh engine; with <paramref name="patchOffset"/>, the #GP hook writes CPL 0 into the
    /// low two bits of the 32-bit field there and retries the instruction.</summary>
    public static Result Run(int? patchOffset)
    {
        byte* ram = (byte*)NativeMemory.AlignedAlloc((nuint)RamSize, 4096);
        try
        {
            var memory = new Span<byte>(ram, (int)RamSize);
            memory.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(memory[(int)Pml4..], Pdpt | UserPresentWritable);
            BinaryPrimitives.WriteUInt64LittleEndian(memory[(int)Pdpt..], PageDirectory | UserPresentWritable);
            BinaryPrimitives.WriteUInt64LittleEndian(memory[(int)PageDirectory..], UserLargePresentWritable);
            for (int i = 0; i < s_gdt.Length; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(memory[((int)Gdt + (i * 8))..], s_gdt[i]);
            }

            // iretq to 1Bh:UserCode with RSP = UserStack, SS = 23h, RFLAGS = 2.
            memory[(int)KernelCode] = 0x48;
            memory[(int)KernelCode + 1] = 0xCF;
            ReadOnlySpan<ulong> frame = [UserCode, 0x1B, 0x2, UserStack, 0x23];
            for (int i = 0; i < frame.Length; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(memory[((int)KernelStack + (i * 8))..], frame[i]);
            }

            // rdmsr (ECX = EFER); hlt
            memory[(int)UserCode] = 0x0F;
            memory[(int)UserCode + 1] = 0x32;
            memory[(int)UserCode + 2] = 0xF4;
            return RunIn(ram, patchOffset);
        }
        finally
        {
            NativeMemory.AlignedFree(ram);
        }
    }

    private static Result RunIn(byte* ram, int? patchOffset)
    {
        using UcEngine engine = UcEngine.Open(UcConst.Mode64);
        engine.MapPointer(0, RamSize, UcConst.ProtAll, ram);
        engine.WriteRegister(UcReg.Cr3, Pml4);
        engine.WriteRegister(UcReg.Cr4, engine.ReadRegister(UcReg.Cr4) | Cr4Pae);
        engine.WriteRegister(UcReg.Cr0, engine.ReadRegister(UcReg.Cr0) | Cr0PePg);
        engine.WriteRegister(UcReg.Rsp, KernelStack);
        engine.WriteRegister(UcReg.Rcx, MsrEfer);
        byte* mmr = stackalloc byte[24];
        new Span<byte>(mmr, 24).Clear();
        *(ulong*)(mmr + 8) = Gdt;
        *(uint*)(mmr + 16) = (uint)(s_gdt.Length * 8) - 1;
        UcEngine.Check(UcNative.uc_reg_write(engine.Raw, UcReg.Gdtr, mmr), "uc_reg_write(GDTR)");
        engine.WriteRegister(UcReg.Cs, 0x08);
        engine.WriteRegister(UcReg.Ss, 0x10);
        using UcContext context = UcContext.Allocate(engine);
        context.Save(engine);
        var run = new CalibrationRun(engine, context, patchOffset, context.Bytes.ToArray());
        GCHandle self = GCHandle.Alloc(run);
        try
        {
            engine.AddHook(UcConst.HookIntr, (delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, void>)&OnInterrupt, (void*)GCHandle.ToIntPtr(self));
            _ = UcNative.uc_emu_start(engine.Raw, KernelCode, ulong.MaxValue, 0, InstructionBudget);
        }
        finally
        {
            self.Free();
        }

        if (run.Error is not null)
        {
            throw new InvalidOperationException("The engine calibration's interrupt hook failed.", run.Error);
        }

        bool halted = engine.ReadRegister(UcReg.Rip) == UserCode + 3;
        return new Result([.. run.Vectors], run.Before, run.AtFirstFault ?? [], context.Size, halted);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnInterrupt(IntPtr uc, uint vector, IntPtr user)
    {
        var run = (CalibrationRun)GCHandle.FromIntPtr(user).Target!;
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the error is rethrown after the run.
        try
        {
            run.Vectors.Add((int)vector);
            if (run.Vectors.Count == 1)
            {
                run.Context.Save(run.Engine);
                run.AtFirstFault = run.Context.Bytes.ToArray();
            }

            if (run.Vectors.Count == 1 && run.FieldOffset is int offset)
            {
                run.Context.Save(run.Engine);
                Span<byte> field = run.Context.Bytes[offset..];
                BinaryPrimitives.WriteUInt32LittleEndian(field, BinaryPrimitives.ReadUInt32LittleEndian(field) & ~3u);
                run.Context.Restore(run.Engine);
                run.Engine.WriteRegister(UcReg.Rip, UserCode); // retry the RDMSR
                return;
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
}
