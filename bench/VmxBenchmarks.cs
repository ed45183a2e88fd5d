// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Bench;

/// <summary>The VMX-layer benchmarks (issue: the VMX driver): raw engine versus our layer, side by side in one run.</summary>
internal static unsafe class VmxBenchmarks
{
    private const ulong Origin = 0x10000;
    private const long OutIterations = 20_000_000;
    private const long AluIterations = 200_000_000;
    private const int AluInstructionsPerIteration = 3;
    private const long MemIterations = 50_000_000;
    private const long WatchedIterations = 10_000_000;
    private const int MemInstructionsPerIteration = 6;
    private const long StoreIterations = 100_000_000;
    private const ulong Buffer = 0x100000; // 64 KiB of data above the code, in the first 2 MiB
    private const string SeaBios = "/usr/share/seabios/bios.bin";

    /// <summary>The three OUT-loop figures, measured in alternation (raw, unhooked, exit; raw, ...) so that the machine's
    /// drifting speed affects all three alike and their ratios stay meaningful.</summary>
    private static readonly Lazy<double[]> s_outLoops = new(() => Measure.Interleaved(
        [RawOutHook, () => VmOut(trap: false), () => VmOut(trap: true), () => RawOutHook(RawExtras.BlockThunk), () => RawOutHook(RawExtras.BlockThunk | RawExtras.InHook)],
        9));

    private static readonly Lazy<double[]> s_memLoops = new(() => Measure.Interleaved([RawMem, VmMem], 7));

    private static readonly Lazy<double[]> s_idleBreakpoints = new(() => Measure.Interleaved(
        [() => VmAlu(cores: 1), () => VmAluWithBreakpoints(100)], 7));

    /// <summary>The instruction events on the intercepts, one at a time, and all six together: the ALU loop runs none
    /// of their instructions, so the cost is that of being set (the goal: none), in alternation with none set.</summary>
    private static readonly GuestEventKinds[] s_interceptedEvents =
    [
        GuestEventKinds.None, GuestEventKinds.MsrRead, GuestEventKinds.MsrWrite, GuestEventKinds.CrWrite, GuestEventKinds.DebugRegister,
        GuestEventKinds.Tsc, GuestEventKinds.Pmc, GuestEventKinds.InstructionEvents & ~GuestEventKinds.Mode,
    ];

    private static readonly string[] s_interceptedEventNames = ["none", "msrread", "msrwrite", "crwrite", "dr", "tsc", "pmc", "all6"];

    private static readonly Lazy<double[]> s_watch = new(() => Measure.Interleaved(
        [.. s_interceptedEvents.Select(k => (Func<double>)(() => VmAluWatched(k, AluIterations)))], 5));

    /// <summary>The ALU loop with no instruction event and with <c>!mode</c> (the every-instruction watch: the loop
    /// changes no mode, so the cost is the watch alone), in alternation; a shorter loop, since the watch is slow.</summary>
    private static readonly Lazy<double[]> s_watchMode = new(() => Measure.Interleaved(
        [() => VmAluWatched(GuestEventKinds.None, WatchedIterations), () => VmAluWatched(GuestEventKinds.Mode, WatchedIterations)], 3));

    /// <summary>The memory loop with no intercept, with the platform's (every MSR the engine does not implement) and with
    /// every intercept the API offers (those MSRs, all CR and DR reads and writes, RDTSC, RDPMC), in alternation.</summary>
    private static readonly Lazy<double[]> s_intercepts = new(() => Measure.Interleaved(
        [() => VmMemWith(InstructionIntercepts.None), () => VmMemWith(null), () => VmMemWith(CoreIntercepts.Platform.Union(new InstructionIntercepts
        {
            CrReads = 0xFFFF, CrWrites = 0xFFFF, DrReads = 0xFF, DrWrites = 0xFF, Rdtsc = true, Rdpmc = true,
        }))],
        7));

    public static IEnumerable<(string Name, Func<double> Run)> All()
    {
        yield return ("engine.raw_out_hook_per_s", () => s_outLoops.Value[0]);
        yield return ("engine.raw_guest_mips", () => Measure.Median(RawAlu));
        yield return ("vmx.out_unhooked_per_s", () => s_outLoops.Value[1]);
        yield return ("vmx.out_exit_noop_per_s", () => s_outLoops.Value[2]);

        // What the VMX layer cannot do without: the bare engine with our native block hook (exact RIP, exact pauses),
        // and with the IN hook as well (every IN must reach a device); the OUT loop never runs an IN, yet Unicorn walks
        // every instruction hook on each OUT.
        yield return ("engine.raw_out_hook_block_thunk_per_s", () => s_outLoops.Value[3]);
        yield return ("engine.raw_out_hook_block_thunk_in_hook_per_s", () => s_outLoops.Value[4]);
        yield return ("vmx.guest_mips", () => Measure.Median(() => VmAlu(cores: 1)));
        yield return ("vmx.guest_mips_2cores", () => Measure.Median(() => VmAlu(cores: 2)));

        // Real guests are dominated by memory traffic: a store loop on the bare engine (ns per store), and a loop of
        // loads and stores on the bare engine and in a VM, measured in alternation.
        yield return ("engine.store_ns", () => Measure.Median(RawStoreNs));
        yield return ("engine.raw_guest_mips_mem", () => s_memLoops.Value[0]);
        yield return ("vmx.guest_mips_mem", () => s_memLoops.Value[1]);

        // Issue 13: 100 code breakpoints on code that never runs (one a page apart above the loop) against none, in
        // alternation in one run: breakpoints are hooks bounded to one address each, so untouched code runs unhooked.
        yield return ("bp.idle_mips_100", () => s_idleBreakpoints.Value[1]);
        yield return ("bp.idle_mips_none", () => s_idleBreakpoints.Value[0]);

        // Issue 13: the instruction events !msrread, !msrwrite, !crwrite, !dr, !tsc, !pmc are intercepts (the loop runs
        // none of their instructions); !mode calls back every instruction while it is set.
        for (int i = 0; i < s_interceptedEventNames.Length; i++)
        {
            int k = i;
            yield return ($"watch.mips_{s_interceptedEventNames[k]}", () => s_watch.Value[k]);
        }

        yield return ("watch.mips_none_short", () => s_watchMode.Value[0]);
        yield return ("watch.mips_mode", () => s_watchMode.Value[1]);

        // Instruction intercepts (the engine's SVM state): the memory loop, which none of them touches, with none, the
        // platform's and all of them; the goal is that instructions that are not intercepted cost nothing more.
        yield return ("intercepts.mips_none", () => s_intercepts.Value[0]);
        yield return ("intercepts.mips_platform", () => s_intercepts.Value[1]);
        yield return ("intercepts.mips_all", () => s_intercepts.Value[2]);
        if (File.Exists(SeaBios))
        {
            yield return ("vmx.seabios_to_banner_ms", () => Measure.Median(SeaBiosToBanner));
        }

        yield return ("vmx.rss_mb", () => ChildProbe.Run("--rss-probe"));

        // Issue 11: what a guest polling the platform pays per iteration (Linux's PIT calibration of the TSC polls port
        // 61h and reads the TSC in a loop, and needs 1,000 iterations in 10 ms of guest time), in alternation.
        yield return ("time.rdtsc_ns", () => s_polls.Value[0]);
        yield return ("time.in61_ns", () => s_polls.Value[1]);
        yield return ("time.in61_rdtsc_ns", () => s_polls.Value[2]);
    }

    private const long PollIterations = 1_000_000;

    private static readonly Lazy<double[]> s_polls = new(() => Measure.Interleaved(
        [() => PollNs(rdtsc: true, in61: false), () => PollNs(rdtsc: false, in61: true), () => PollNs(rdtsc: true, in61: true)], 5));

    /// <summary>Nanoseconds per iteration of a loop of RDTSC and/or IN AL,61h (and its two loop instructions) in a VM
    /// with the standard devices, whose clock is the guest's time base.</summary>
    private static double PollNs(bool rdtsc, bool in61) => 1e9 * RunVm(Assemble(a =>
    {
        Label loop = a.CreateLabel();
        a.mov(rsi, PollIterations);
        a.Label(ref loop);
        if (in61)
        {
            a.@in(al, 0x61);
        }

        if (rdtsc)
        {
            a.rdtsc();
        }

        a.dec(rsi);
        a.jnz(loop);
        a.hlt();
    }), 1, null) / PollIterations;

    public static void AddRatios(SortedDictionary<string, double> m)
    {
        void Ratio(string name, string a, string b)
        {
            if (m.TryGetValue(a, out double x) && m.TryGetValue(b, out double y) && y > 0)
            {
                m[name] = Math.Round(x / y, 3);
            }
        }

        Ratio("vmx.out_unhooked_vs_raw", "vmx.out_unhooked_per_s", "engine.raw_out_hook_per_s");
        Ratio("vmx.out_exit_noop_vs_raw", "vmx.out_exit_noop_per_s", "engine.raw_out_hook_per_s");
        Ratio("engine.raw_out_hook_block_thunk_vs_raw", "engine.raw_out_hook_block_thunk_per_s", "engine.raw_out_hook_per_s");
        Ratio("engine.raw_out_hook_block_thunk_in_hook_vs_raw", "engine.raw_out_hook_block_thunk_in_hook_per_s", "engine.raw_out_hook_per_s");
        Ratio("vmx.guest_mips_vs_raw", "vmx.guest_mips", "engine.raw_guest_mips");
        Ratio("vmx.guest_mips_mem_vs_raw", "vmx.guest_mips_mem", "engine.raw_guest_mips_mem");
        Ratio("bp.idle_cost_vs_none", "bp.idle_mips_100", "bp.idle_mips_none");
        foreach (string e in s_interceptedEventNames.Skip(1))
        {
            Ratio($"watch.{e}_vs_none", $"watch.mips_{e}", "watch.mips_none");
        }

        Ratio("watch.mode_vs_none", "watch.mips_mode", "watch.mips_none_short");
        Ratio("intercepts.platform_vs_none", "intercepts.mips_platform", "intercepts.mips_none");
        Ratio("intercepts.all_vs_none", "intercepts.mips_all", "intercepts.mips_none");
        Ratio("linux.boot_to_run_init_vs_qemu", "linux.boot_to_run_init_s", "qemu.boot_to_run_init_s");
        Ratio("linux.boot_vs_qemu", "linux.boot_to_marker_s", "qemu.boot_to_marker_s");
        Ratio("linux.boot_traced_vs_qemu", "linux.boot_traced_to_run_init_s", "qemu.boot_to_run_init_s");
        Ratio("seabios.boot_vs_qemu", "seabios.boot_to_booting_s", "qemu.seabios_to_booting_s");
        Ratio("seabios_linux.boot_vs_qemu", "seabios_linux.boot_to_marker_s", "seabios_linux.qemu_boot_to_marker_s");
    }

    private static byte[] Assemble(Action<Assembler> body)
    {
        var a = new Assembler(64);
        body(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), Origin);
        return stream.ToArray();
    }

    private static byte[] OutLoop() => Assemble(a =>
    {
        Label loop = a.CreateLabel();
        a.mov(rcx, OutIterations);
        a.Label(ref loop);
        a.@out(0x80, al);
        a.dec(rcx);
        a.jnz(loop);
        a.hlt();
    });

    private static byte[] AluLoop(long iterations = AluIterations) => Assemble(a =>
    {
        Label loop = a.CreateLabel();
        a.mov(rcx, iterations);
        a.mov(ebx, 3);
        a.Label(ref loop);
        a.add(rax, rbx);
        a.dec(rcx);
        a.jnz(loop);
        a.hlt();
    });

    /// <summary>Per iteration: a store and a load (RSI + RDX, wrapping in 64 KiB), an add, the index's step and the loop.</summary>
    private static byte[] MemLoop() => Assemble(a =>
    {
        Label loop = a.CreateLabel();
        a.mov(rcx, MemIterations);
        a.mov(rsi, Buffer);
        a.xor(edx, edx);
        a.Label(ref loop);
        a.mov(__qword_ptr[rsi + rdx], rax);
        a.add(rax, __qword_ptr[rsi + rdx + 8]);
        a.add(edx, 16);
        a.and(edx, 0xFFF0);
        a.dec(rcx);
        a.jnz(loop);
        a.hlt();
    });

    /// <summary>Per iteration: one 8-byte store (wrapping in 64 KiB), the index's step and the loop.</summary>
    private static byte[] StoreLoop() => Assemble(a =>
    {
        Label loop = a.CreateLabel();
        a.mov(rcx, StoreIterations);
        a.mov(rsi, Buffer);
        a.xor(edx, edx);
        a.Label(ref loop);
        a.mov(__qword_ptr[rsi + rdx], rax);
        a.add(edx, 8);
        a.and(edx, 0xFFF8);
        a.dec(rcx);
        a.jnz(loop);
        a.hlt();
    });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void NoOpOut(IntPtr uc, uint port, int size, uint value, IntPtr user)
    {
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static uint NoOpIn(IntPtr uc, uint port, int size, IntPtr user) => 0;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void EndOfSlice(IntPtr uc, ulong address, uint size, IntPtr user) => ((BlockSlot*)user)->Quantum = int.MaxValue;

    [Flags]
    private enum RawExtras
    {
        None = 0,
        BlockThunk = 1,
        InHook = 2,
    }

    private static double RawEngine(byte[] code, bool outHook, double work, RawExtras extras = RawExtras.None)
    {
        using UcEngine engine = UcEngine.Open(UcConst.Mode64);
        const ulong size = 2 * 1024 * 1024;
        void* memory = NativeMemory.AlignedAlloc((nuint)size, 4096);
        BlockSlot* slot = (BlockSlot*)NativeMemory.AllocZeroed((nuint)sizeof(BlockSlot));
        try
        {
            new Span<byte>(memory, (int)size).Clear();
            code.CopyTo(new Span<byte>((byte*)memory + Origin, code.Length));
            engine.MapPointer(0, size, UcConst.ProtAll, memory);
            if (outHook)
            {
                engine.AddInstructionHook(UcConst.InsOut, (delegate* unmanaged[Cdecl]<IntPtr, uint, int, uint, IntPtr, void>)&NoOpOut, null);
            }

            slot->Quantum = int.MaxValue;
            slot->SlowPath = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, ulong, uint, IntPtr, void>)&EndOfSlice;
            if (extras.HasFlag(RawExtras.BlockThunk))
            {
                engine.AddHook(UcConst.HookBlock, (void*)NativeBlockThunk.Address, slot);
            }

            if (extras.HasFlag(RawExtras.InHook))
            {
                engine.AddInstructionHook(UcConst.InsIn, (delegate* unmanaged[Cdecl]<IntPtr, uint, int, IntPtr, uint>)&NoOpIn, null);
            }

            double seconds = Measure.Seconds(() => UcEngine.Check(engine.Start(Origin), "uc_emu_start"));
            return work / seconds;
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
            NativeMemory.Free(slot);
        }
    }

    private static double RawOutHook() => RawEngine(OutLoop(), outHook: true, OutIterations);

    private static double RawOutHook(RawExtras extras) => RawEngine(OutLoop(), outHook: true, OutIterations, extras);

    private static double RawAlu() => RawEngine(AluLoop(), outHook: false, AluIterations * AluInstructionsPerIteration) / 1e6;

    private static double RawMem() => RawEngine(MemLoop(), outHook: false, MemIterations * MemInstructionsPerIteration) / 1e6;

    /// <summary>Nanoseconds per iteration of the store loop (the store and its 4 loop instructions).</summary>
    private static double RawStoreNs() => 1e9 / RawEngine(StoreLoop(), outHook: false, StoreIterations);

    private sealed class NoOpHandler : IVmExitHandler
    {
        public void OnIoExit(IoExit ioExit)
        {
            ioExit.PostStageRequested = true;
        }
    }

    private static double RunVm(byte[] code, int cores, Action<VirtualMachine>? setup)
    {
        using var vm = new VirtualMachine(new VmConfiguration { Cores = cores, MemoryBytes = 16 * 1024 * 1024 });
        StandardDevices.Attach(vm);
        vm.AddCores(new Flat64Guest(code, Origin, "bench").Load(vm));
        setup?.Invoke(vm);
        return Measure.Seconds(() =>
        {
            vm.Start();
            VmStopInfo? info = vm.WaitForStop(TimeSpan.FromMinutes(2));
            if (info?.Reason != VmStopReason.AllCoresHalted)
            {
                throw new InvalidOperationException($"benchmark guest ended with {info?.Reason}: {info?.Report}");
            }
        });
    }

    private static double VmOut(bool trap) => OutIterations / RunVm(OutLoop(), 1, vm =>
    {
        if (trap)
        {
            vm.ExitHandler = new NoOpHandler();
            vm.Cores[0].Controls.SetPort(0x80, true);
        }
    });

    private static double VmAlu(int cores) =>
        (double)AluIterations * AluInstructionsPerIteration * cores / RunVm(AluLoop(), cores, null) / 1e6;

    private static double VmMem() =>
        (double)MemIterations * MemInstructionsPerIteration / RunVm(MemLoop(), 1, null) / 1e6;

    /// <summary>The memory loop with <paramref name="intercepts"/> (null: the platform's, as every VM has them).</summary>
    private static double VmMemWith(InstructionIntercepts? intercepts) =>
        (double)MemIterations * MemInstructionsPerIteration / RunVm(MemLoop(), 1, vm =>
        {
            if (intercepts is not null)
            {
                vm.Cores[0].Context.SetIntercepts(intercepts);
            }
        }) / 1e6;

    private static double VmAluWithBreakpoints(int count) =>
        (double)AluIterations * AluInstructionsPerIteration / RunVm(AluLoop(), 1, vm =>
        {
            for (int i = 1; i <= count; i++)
            {
                _ = vm.AddCodeBreakpoint(Origin + 0x10_0000 + ((ulong)i * 0x1000));
            }
        }) / 1e6;

    private static double VmAluWatched(GuestEventKinds kinds, long iterations) =>
        (double)iterations * AluInstructionsPerIteration / RunVm(AluLoop(iterations), 1, vm =>
        {
            vm.ExitHandler = new NoOpHandler();
            vm.TrappedGuestEvents = kinds;
        }) / 1e6;

    private static double SeaBiosToBanner()
    {
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 128 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm);
        vm.AddCores(BiosGuest.FromFile(SeaBios).Load(vm));
        long start = Stopwatch.GetTimestamp();
        vm.Start();
        while (!devices.DebugConsole.Output.Text().Contains("SeaBIOS (version", StringComparison.Ordinal))
        {
            if (Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException("SeaBIOS printed no banner in 30 s");
            }

            Thread.SpinWait(100);
        }

        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        vm.Stop();
        return ms;
    }

    /// <summary>In a child process: a VM with 2 cores and 64 MiB running the spin of an ALU loop for a second.</summary>
    public static double RssProbe()
    {
        using var vm = new VirtualMachine(new VmConfiguration { Cores = 2, MemoryBytes = 64 * 1024 * 1024 });
        StandardDevices.Attach(vm);
        vm.AddCores(new Flat64Guest(AluLoop(), Origin, "bench").Load(vm));
        vm.Start();
        Thread.Sleep(1000);
        double rss = ChildProbe.ResidentMiB();
        vm.Stop();
        return rss;
    }
}
