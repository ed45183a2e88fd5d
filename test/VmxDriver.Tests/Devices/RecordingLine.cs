// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>An interrupt line that records its level and counts rising edges.</summary>
internal sealed class RecordingLine : IInterruptLine
{
    public bool High { get; private set; }

    public int RisingEdges { get; private set; }

    public void SetLevel(bool high)
    {
        if (high && !High)
        {
            RisingEdges++;
        }

        High = high;
    }
}
