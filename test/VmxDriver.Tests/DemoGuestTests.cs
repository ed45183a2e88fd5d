// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class DemoGuestTests
{
    [Test]
    public void Demo_RunsBothCoresAndProcesses_StopsThroughDebugExit()
    {
        // Arrange
        var demo = new DemoGuest();
        using var vm = new VirtualMachine(new VmConfiguration { Cores = 2, MemoryBytes = 64 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm);
        vm.AddCores(demo.Load(vm));
        var pids = new HashSet<uint>();
        vm.ExitHandler = new RecordingExitHandler(e => pids.Add(vm.OsProfile.Current(e.Core).ProcessId));
        foreach (Vcpu core in vm.Cores)
        {
            core.Controls.SetPort(StandardPorts.PostCode, true);
        }

        // Act
        vm.Start();
        string com1 = string.Empty;
        for (int i = 0; i < 500 && !com1.Contains("logger tick 0004", StringComparison.Ordinal); i++)
        {
            Thread.Sleep(10);
            com1 = devices.Com1.Transmitted.Text();
        }

        demo.RequestStop(vm);
        VmStopInfo? stop = vm.WaitForStop(TimeSpan.FromSeconds(10));

        // Assert
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.DebugExit), stop?.Report);
        Assert.That(com1, Does.StartWith("HyperDbgRemote demo guest 1.0\r\nHyperDbgRemote demo guest 1.0\r\nshell tick 0001\r\nlogger tick 0002\r\n"));
        Assert.That(pids, Is.SupersetOf(new uint[] { 0, 1, 2, 3 }), "kernel, shell, logger and worker all wrote POST codes");
        vm.Memory.TryRead(demo.Labels["shared_counter"], out ulong counter);
        vm.Memory.TryRead(demo.Labels["worker_loops"], out ulong worker);
        Assert.That(worker, Is.GreaterThan(0), "core 1 ran");
        Assert.That(counter, Is.GreaterThan(worker), "both cores bumped the shared counter");
        Assert.That(vm.Cores[1].ExitCount, Is.GreaterThan(0));
    }

    [Test]
    public void Demo_TooLittleMemory_SaysHowMuchItNeeds()
    {
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 8 * 1024 * 1024 });
        Assert.That(() => new DemoGuest().Load(vm), Throws.TypeOf<GuestImageException>().With.Message.Contains("16 MiB"));
    }
}
