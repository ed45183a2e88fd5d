// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>A reset signal that records who asked.</summary>
internal sealed class RecordingReset : ISystemReset
{
    public List<string> Requests { get; } = [];

    public void RequestReset(string source) => Requests.Add(source);
}
