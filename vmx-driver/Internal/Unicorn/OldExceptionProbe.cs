// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The calibration guest of <see cref="OldExceptionField"/>, in a scratch 64-bit engine of its own: 2 MiB of RAM
/// identity-mapped by one large page, and three loads from 0x40000000, which no page-table entry maps. UC_HOOK_INTR
/// records each vector, skips the load and, when asked, resets a context field after each fault.
/// </summary>
internal static unsafe class OldExceptionProbe
{
    private const ulong RamSize = 2 * 1024 * 1024;
    private const ulong Pml4 = 0x10000;
    private const ulong Pdpt = 0x11000;
    private const ulong PageDirectory = 0x12000;
    private const ulong CodeAddress = 0x1000;
    private const ulong StackTop = 0x8000;
    private const ulong PresentWritable = 0x3;
    private const ulong LargePresentWritable = 0x83;
    private const ulong Cr0PePg = 0x8000_0001;
    private const ulong Cr4Pae = 0x20;
    private const int Loads = 3;

    /// <summary>Instructions the run may execute at most: the loads, HLT, and room for a surprise.</summary>
    private const int InstructionBudget = 32;

    /// <summary><c>mov rax, [0x40000000]</c>: a load from a linear address with no page-table entry.</summary>
    private static readonly byte[] s_load = [0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40];

    /// <summary>What a run saw: vectors in order, the saved context before the run and at the first fault.</summary>
    internal sealed record Result(int[] Vectors, byte[] Before, byte[] AtFirstFault, int ContextSize);

    /// <summary>Runs the guest in a fresh engine, resetting the 32-bit field at <paramref name="resetOffset"/> to -1 after
    /// each fault when given.</summary>
    public static Result Run(int? resetOffset)
    {
        byte* ram = (byte*)NativeMemory.AlignedAlloc((nuint)RamSize, 4096);
        try
        {
            new Span<byte>(ram, (int)RamSize).Clear();
            *(ulong*)(ram + Pml4) = Pdpt | PresentWritable;
            *(ulong*)(ram + Pdpt) = PageDirectory | PresentWritable;
            *(ulong*)(ram + PageDirectory) = LargePresentWritable;
            for (int i = 0; i < Loads; i++)
            {
                s_load.CopyTo(new Span<byte>(ram + CodeAddress + (ulong)(i * s_load.Length), s_load.Length));
            }

            ram[CodeAddress + (ulong)(Loads * s_load.Length)] = 0xF4; // hlt
            return RunIn(ram, resetOffset);
        }
        finally
        {
            NativeMemory.AlignedFree(ram);
        }
    }

    private static Result RunIn(byte* ram, int? resetOffset)
    {
        using UcEngine engine = UcEngine.Open(UcConst.Mode64);
        engine.MapPointer(0, RamSize, UcConst.ProtAll, ram);
        engine.WriteRegister(UcReg.Cr3, Pml4);
        engine.WriteRegister(UcReg.Cr4, engine.ReadRegister(UcReg.Cr4) | Cr4Pae);
        engine.WriteRegister(UcReg.Cr0, engine.ReadRegister(UcReg.Cr0) | Cr0PePg);
        engine.WriteRegister(UcReg.Rsp, StackTop);
        using UcContext context = UcContext.Allocate(engine);
        context.Save(engine);
        var run = new CalibrationRun(engine, context, resetOffset, context.Bytes.ToArray());
        GCHandle self = GCHandle.Alloc(run);
        try
        {
            engine.AddHook(UcConst.HookIntr, (delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, void>)&OnInterrupt, (void*)GCHandle.ToIntPtr(self));
            _ = UcNative.uc_emu_start(engine.Raw, CodeAddress, ulong.MaxValue, 0, InstructionBudget);
        }
        finally
        {
            self.Free();
        }

        if (run.Error is not null)
        {
            throw new InvalidOperationException("The engine calibration's interrupt hook failed.", run.Error);
        }

        return new Result([.. run.Vectors], run.Before, run.AtFirstFault ?? [], context.Size);
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

            if (run.FieldOffset is int offset)
            {
                run.Context.Save(run.Engine);
                BinaryPrimitives.WriteInt32LittleEndian(run.Context.Bytes[offset..], -1);
                run.Context.Restore(run.Engine);
            }

            // The hook sees RIP at the faulting load: skip it, as a handler that maps nothing would.
            run.Engine.WriteRegister(UcReg.Rip, run.Engine.ReadRegister(UcReg.Rip) + (ulong)s_load.Length);
            if (vector != OldExceptionField.PageFault)
            {
                run.Engine.Stop();
            }
        }
        catch (Exception ex)
        {
            run.Error = ex;
            _ = UcNative.uc_emu_stop(uc);
        }
#pragma warning restore CA1031
    }
}
